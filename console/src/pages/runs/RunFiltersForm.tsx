// The runs list's filters: flow, status and trigger, each a labelled select.
import type { Schemas } from "../../api/client";
import { STATUSES, TRIGGERS, type RunFilters } from "./runFilters";

interface Props {
  filters: RunFilters;
  flows: Schemas["FlowSummary"][];
  onChange: (filters: RunFilters) => void;
}

export function RunFiltersForm({ filters, flows, onChange }: Props) {
  const known = flows.some((flow) => flow.id === filters.flow);
  return (
    <form className="toolbar run-filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
      <label>
        Flow{" "}
        <select
          value={filters.flow ?? ""}
          onChange={(e) => onChange({ ...filters, flow: e.target.value || undefined })}
        >
          <option value="">All flows</option>
          {filters.flow && !known && <option value={filters.flow}>{filters.flow}</option>}
          {flows.map((flow) => (
            <option key={flow.id} value={flow.id}>
              {flow.name} ({flow.id})
            </option>
          ))}
        </select>
      </label>
      <label>
        Status{" "}
        <select
          value={filters.status ?? ""}
          onChange={(e) =>
            onChange({ ...filters, status: STATUSES.find((s) => s === e.target.value) })
          }
        >
          <option value="">Any status</option>
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {status.replace("_", " ")}
            </option>
          ))}
        </select>
      </label>
      <label>
        Trigger{" "}
        <select
          value={filters.trigger ?? ""}
          onChange={(e) =>
            onChange({ ...filters, trigger: TRIGGERS.find((t) => t === e.target.value) })
          }
        >
          <option value="">Any trigger</option>
          {TRIGGERS.map((trigger) => (
            <option key={trigger} value={trigger}>
              {trigger}
            </option>
          ))}
        </select>
      </label>
      {(filters.flow || filters.status || filters.trigger) && (
        <button type="button" onClick={() => onChange({})}>
          Clear filters
        </button>
      )}
    </form>
  );
}
