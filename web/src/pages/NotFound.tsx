import { Link } from "react-router";
import { Empty } from "../components";

export function NotFoundPage() {
  return (
    <Empty title="There is no such page.">
      <Link to="/runs">Go to the runs</Link>.
    </Empty>
  );
}
