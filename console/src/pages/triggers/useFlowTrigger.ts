// A flow with what it reads from its trigger: the flow, then the input schema of every step
// version it uses (GET /v1/steps/{name}/versions/{version}), then the trigger form.
import { api, call, type Schemas } from "../../api/client";
import type { FlowDef } from "../../graph/references";
import { useApi, type Loaded } from "../../components/useApi";
import { triggerForm, type InputSchemas, type TriggerForm } from "./triggerInputs";

export interface FlowTrigger {
  flow: Schemas["FlowOut"];
  form: TriggerForm;
}

async function inputSchema(uses: string): Promise<Record<string, unknown> | undefined> {
  const at = uses.lastIndexOf("@");
  if (at <= 0) return undefined;
  try {
    const version = await call(
      api.GET("/v1/steps/{name}/versions/{version}", {
        params: { path: { name: uses.slice(0, at), version: uses.slice(at + 1) } },
      }),
    );
    return version.input_schema;
  } catch {
    // A step that cannot be read gives untyped fields; the run itself will name the problem.
    return undefined;
  }
}

async function loadFlowTrigger(flowId: string): Promise<FlowTrigger> {
  const flow = await call(
    api.GET("/v1/flows/{flow_id}", { params: { path: { flow_id: flowId } } }),
  );
  const definition = flow.definition as unknown as FlowDef;
  const uses = [...new Set((definition.steps ?? []).map((step) => step.uses))];
  const schemas = await Promise.all(uses.map(inputSchema));
  const inputs: InputSchemas = Object.fromEntries(uses.map((ref, index) => [ref, schemas[index]]));
  return { flow, form: triggerForm(definition, inputs) };
}

export function useFlowTrigger(flowId: string): Loaded<FlowTrigger> {
  return useApi(() => loadFlowTrigger(flowId), [flowId]);
}

/** A made-up value of a schema's type, for an example body. */
function sampleOf(schema: Record<string, unknown>): unknown {
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  switch (schema.type) {
    case "string":
      return "text";
    case "number":
    case "integer":
      return 1;
    case "boolean":
      return true;
    case "array": {
      const items = schema.items as Record<string, unknown> | undefined;
      return items && typeof items === "object" && items.type ? [sampleOf(items)] : [];
    }
    case "object": {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      return Object.fromEntries(
        Object.entries(properties).map(([name, property]) => [name, sampleOf(property)]),
      );
    }
    default:
      return null;
  }
}

/** An example trigger for the flow (JSON text), from the form's schema. */
export function sampleTrigger(form: TriggerForm): string {
  return JSON.stringify(sampleOf(form.schema as Record<string, unknown>) ?? {});
}
