// Form and filter fields: a labelled field with its error, text inputs and
// areas, and list filters kept in the URL.
import { useEffect, useState, type InputHTMLAttributes, type ReactNode } from "react";
import { useSearchParams } from "react-router";

/** FieldProps are what every labelled field takes besides its control. */
export interface FieldProps {
  label: string;
  /** inline sits in a row of filters; narrow is for a short number. */
  variant?: "inline" | "narrow";
  /** error is shown under the control, as an alert. */
  error?: string;
  /** errorTestId is the test id of the error. */
  errorTestId?: string;
  /** hint is shown under the control. */
  hint?: ReactNode;
}

/** Field labels a control, with its error or hint beneath it. */
export function Field({ label, variant, error, errorTestId, hint, children }: FieldProps & { children: ReactNode }) {
  return (
    <label className={variant ? `field ${variant}` : "field"}>
      <span>{label}</span>
      {children}
      {error && (
        <small className="field-error" data-testid={errorTestId} role="alert">
          {error}
        </small>
      )}
      {hint && <small className="muted">{hint}</small>}
    </label>
  );
}

/** TextProps are what a text control takes: its test id, its value and what to do when it changes. */
interface TextProps {
  testId: string;
  value: string;
  onText: (text: string) => void;
  placeholder?: string;
}

/** TextField is a labelled one-line text input, with spell checking off (keys, names and ids are not words). */
export function TextField({
  label,
  variant,
  error,
  errorTestId,
  hint,
  testId,
  value,
  onText,
  ...input
}: FieldProps & TextProps & Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "onChange">) {
  return (
    <Field label={label} variant={variant} error={error} errorTestId={errorTestId} hint={hint}>
      <input data-testid={testId} value={value} onChange={(e) => onText(e.target.value)} spellCheck={false} {...input} />
    </Field>
  );
}

/** TextAreaField is a labelled text area; an error marks it invalid and is shown with test id testId-error. */
export function TextAreaField({
  label,
  error,
  testId,
  value,
  onText,
  placeholder,
  rows,
}: Omit<FieldProps, "errorTestId" | "variant" | "hint"> & TextProps & { rows: number }) {
  return (
    <Field label={label} error={error} errorTestId={`${testId}-error`}>
      <textarea
        data-testid={testId}
        className={error ? "invalid" : ""}
        value={value}
        onChange={(e) => onText(e.target.value)}
        rows={rows}
        placeholder={placeholder}
        spellCheck={false}
        aria-invalid={!!error}
      />
    </Field>
  );
}

/** withParam returns an updater of URL search params that sets name to value, or removes it when value is "". */
export function withParam(name: string, value: string) {
  return (p: URLSearchParams) => {
    const n = new URLSearchParams(p);
    if (value) {
      n.set(name, value);
    } else {
      n.delete(name);
    }
    return n;
  };
}

/** FilterParam is a text filter kept in the URL: the applied value and the text being typed. */
export interface FilterParam {
  applied: string;
  text: string;
  setText: (text: string) => void;
}

/** useFilterParam keeps a text filter in the URL parameter name, applied once typing pauses. */
export function useFilterParam(name: string): FilterParam {
  const [params, setParams] = useSearchParams();
  const applied = params.get(name) ?? "";
  const [text, setText] = useState(applied);
  useEffect(() => setText(applied), [applied]);
  useEffect(() => {
    if (text.trim() === applied) {
      return;
    }
    const t = window.setTimeout(() => setParams(withParam(name, text.trim()), { replace: true }), 250);
    return () => window.clearTimeout(t);
  }, [text, applied, name, setParams]);
  return { applied, text, setText };
}

/** TextFilter is the input of a text filter. */
export function TextFilter({
  label,
  testId,
  placeholder,
  filter,
}: {
  label: string;
  testId: string;
  placeholder: string;
  filter: FilterParam;
}) {
  return (
    <TextField
      label={label}
      variant="inline"
      testId={testId}
      placeholder={placeholder}
      value={filter.text}
      onText={filter.setText}
    />
  );
}

/** ChoiceParam is a choice among names kept in the URL; "" is any. */
export interface ChoiceParam<T> {
  /** value is the chosen value, or none. */
  value: T;
  /** name is the chosen name, or "". */
  name: string;
  names: string[];
  choose: (name: string) => void;
}

/** useChoiceParam keeps a choice among values in the URL parameter param, by their names; an unknown name is none. */
export function useChoiceParam<T>(param: string, values: T[], nameOf: (v: T) => string, none: T): ChoiceParam<T> {
  const [params, setParams] = useSearchParams();
  const given = params.get(param);
  const value = values.find((v) => nameOf(v) === given) ?? none;
  return {
    value,
    name: value === none ? "" : nameOf(value),
    names: values.map(nameOf),
    choose: (name) => setParams(withParam(param, name), { replace: true }),
  };
}

/** ChoiceFilter is the select of a choice filter, with "any" first. */
export function ChoiceFilter<T>({ label, testId, choice }: { label: string; testId: string; choice: ChoiceParam<T> }) {
  return (
    <Field label={label} variant="inline">
      <select data-testid={testId} value={choice.name} onChange={(e) => choice.choose(e.target.value)}>
        <option value="">any</option>
        {choice.names.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </Field>
  );
}
