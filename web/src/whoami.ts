// What the signed-in token may do, from WhoAmI: the dashboard offers only the
// actions its role may take (the server refuses the others anyway).
import { useQuery } from "@connectrpc/connect-query";
import type { DescMethod } from "@bufbuild/protobuf";
import { AdminService } from "./gen/switchyard/v1/admin_pb";

/** useWhoAmI describes the signed-in token, its tenant and what it may call. */
export function useWhoAmI() {
  return useQuery(AdminService.method.whoAmI, {}, { retry: false, staleTime: Infinity, refetchOnWindowFocus: false });
}

/** procedureOf is the procedure path of a method, e.g. "/switchyard.v1.RunService/CancelRun". */
export function procedureOf(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * useCan reports whether the token may call method. Until WhoAmI has answered,
 * or when it failed, it says yes: the server is the one that decides.
 */
export function useCan(method: DescMethod): boolean {
  const { data } = useWhoAmI();
  return !data || data.procedures.includes(procedureOf(method));
}
