import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router";
import { describe, expect, test } from "vitest";
import {
  ChoiceFilter,
  Field,
  TextAreaField,
  TextField,
  TextFilter,
  useChoiceParam,
  useFilterParam,
  withParam,
} from "./fields";

const ignore = () => {};

describe("Field", () => {
  test("labels its control, with its variant as a class", () => {
    const html = renderToStaticMarkup(
      <Field label="Priority" variant="narrow">
        <input />
      </Field>,
    );
    expect(html).toBe('<label class="field narrow"><span>Priority</span><input/></label>');
  });

  test("shows its error as an alert with its test id, and its hint", () => {
    const html = renderToStaticMarkup(
      <Field label="Key" error="Letters only." errorTestId="key-error" hint="such as a.b">
        <input />
      </Field>,
    );
    expect(html).toContain('<small class="field-error" data-testid="key-error" role="alert">Letters only.</small>');
    expect(html).toContain('<small class="muted">such as a.b</small>');
  });
});

describe("TextField", () => {
  test("is an input with its test id and value, spell checking off, and the input's own attributes", () => {
    const html = renderToStaticMarkup(
      <TextField label="API token" testId="token-input" value="sy_1" onText={ignore} type="password" placeholder="sy_…" />,
    );
    expect(html).toBe(
      '<label class="field"><span>API token</span>' +
        '<input data-testid="token-input" spellCheck="false" type="password" placeholder="sy_…" value="sy_1"/></label>',
    );
  });
});

describe("TextAreaField", () => {
  test("without an error is valid and shows no alert", () => {
    const html = renderToStaticMarkup(<TextAreaField label="Payload" testId="push-payload" value="{}" onText={ignore} rows={3} />);
    expect(html).toContain('aria-invalid="false"');
    expect(html).not.toContain("invalid\"");
    expect(html).not.toContain("role=\"alert\"");
  });

  test("with an error is marked invalid and shows the error under test id testId-error", () => {
    const html = renderToStaticMarkup(
      <TextAreaField label="Payload" testId="push-payload" value="[" onText={ignore} rows={3} error="Not valid JSON" />,
    );
    expect(html).toContain('class="invalid"');
    expect(html).toContain('aria-invalid="true"');
    expect(html).toContain('<small class="field-error" data-testid="push-payload-error" role="alert">Not valid JSON</small>');
  });
});

describe("withParam", () => {
  test("sets a parameter and keeps the others", () => {
    expect(withParam("status", "failed")(new URLSearchParams("workflow=w&status=queued")).toString()).toBe(
      "workflow=w&status=failed",
    );
  });

  test("removes a parameter set to the empty string", () => {
    expect(withParam("status", "")(new URLSearchParams("workflow=w&status=queued")).toString()).toBe("workflow=w");
  });
});

enum Colour {
  NONE,
  RED,
  BLUE,
}
const colourName = (c: Colour) => Colour[c].toLowerCase();

function Colours() {
  const choice = useChoiceParam("colour", [Colour.RED, Colour.BLUE], colourName, Colour.NONE);
  return (
    <div data-value={choice.value}>
      <ChoiceFilter label="Colour" testId="filter-colour" choice={choice} />
    </div>
  );
}

function at(url: string, page: React.ReactNode) {
  return renderToStaticMarkup(<MemoryRouter initialEntries={[url]}>{page}</MemoryRouter>);
}

describe("ChoiceFilter", () => {
  test("selects the choice named in the URL, after any", () => {
    const html = at("/x?colour=blue", <Colours />);
    expect(html).toContain(`data-value="${Colour.BLUE}"`);
    expect(html).toContain(
      '<select data-testid="filter-colour"><option value="">any</option><option value="red">red</option>' +
        '<option value="blue" selected="">blue</option></select>',
    );
  });

  test("takes an unknown or missing name as none, shown as any", () => {
    for (const url of ["/x?colour=green", "/x"]) {
      const html = at(url, <Colours />);
      expect(html).toContain(`data-value="${Colour.NONE}"`);
      expect(html).toContain('<option value="" selected="">any</option>');
    }
  });
});

function Keys() {
  const key = useFilterParam("key");
  return (
    <div data-applied={key.applied}>
      <TextFilter label="Key" testId="filter-key" placeholder="any key" filter={key} />
    </div>
  );
}

describe("TextFilter", () => {
  test("starts with the filter in the URL, applied and in the input", () => {
    const html = at("/x?key=user.created", <Keys />);
    expect(html).toContain('data-applied="user.created"');
    expect(html).toContain('<label class="field inline"><span>Key</span>');
    expect(html).toContain('data-testid="filter-key" spellCheck="false" placeholder="any key" value="user.created"');
  });

  test("is empty without the parameter", () => {
    const html = at("/x?other=1", <Keys />);
    expect(html).toContain('data-applied=""');
    expect(html).toContain('value=""');
  });
});
