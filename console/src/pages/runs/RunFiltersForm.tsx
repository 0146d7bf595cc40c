// The runs list's filters: flow, status and trigger, each a labelled select.
import { useId, type ReactNode } from "react";
import type { Schemas } from "../../api/client";
import { isolated } from "../../components/Name";
import { STATUSES, TRIGGERS, isFiltered, type RunFilters } from "./runFilters";

interface Props {
  filters: RunFilters;
  flows: Schemas["FlowSummary"][];
  onChange: (filters: RunFilters) => void;
}

/** A select with its own <label> (the label alone names it, not the chosen option). */
export function LabelledSelect(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <span className="labelled">
      <label htmlFor={id}>{props.label}</label>{" "}
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {props.children}
      </select>
    </span>
  );
}

export function RunFiltersForm({ filters, flows, onChange }: Props) {
  const known = flows.some((flow) => flow.id === filters.flow);
  return (
    <form
      className="toolbar run-filters"
      aria-label="Filter runs"
      onSubmit={(e) => e.preventDefault()}
    >
      <LabelledSelect
        label="Flow"
        value={filters.flow ?? ""}
        onChange={(value) => onChange({ ...filters, flow: value || undefined })}
      >
        <option value="">All flows</option>
        {filters.flow && !known && <option value={filters.flow}>{isolated(filters.flow)}</option>}
        {flows.map((flow) => (
          <option key={flow.id} value={flow.id}>
            {isolated(flow.name)} ({flow.id})
          </option>
        ))}
      </LabelledSelect>
      <LabelledSelect
        label="Status"
        value={filters.status ?? ""}
        onChange={(value) => onChange({ ...filters, status: STATUSES.find((s) => s === value) })}
      >
        <option value="">Any status</option>
        {STATUSES.map((status) => (
          <option key={status} value={status}>
            {status.replace("_", " ")}
          </option>
        ))}
      </LabelledSelect>
      <LabelledSelect
        label="Trigger"
        value={filters.trigger ?? ""}
        onChange={(value) => onChange({ ...filters, trigger: TRIGGERS.find((t) => t === value) })}
      >
        <option value="">Any trigger</option>
        {TRIGGERS.map((trigger) => (
          <option key={trigger} value={trigger}>
            {trigger}
          </option>
        ))}
      </LabelledSelect>
      {isFiltered(filters) && (
        <button type="button" onClick={() => onChange({})}>
          Clear filters
        </button>
      )}
    </form>
  );
}
