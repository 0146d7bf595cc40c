// The runs list's filters, as they live in the hash's query (`/#/runs?flow=flw_1&status=failed`)
// so they survive a reload and can be linked, and as GET /v1/runs takes them.
import type { Schemas } from "../../api/client";

export type RunStatus = Schemas["RunStatus"];
export type RunTrigger = Schemas["RunTrigger"];

export const STATUSES: RunStatus[] = [
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "terminated",
  "timed_out",
];
export const TRIGGERS: RunTrigger[] = ["manual", "webhook", "schedule", "rerun"];

export interface RunFilters {
  flow?: string;
  status?: RunStatus;
  trigger?: RunTrigger;
}

function oneOf<T extends string>(value: string | null, allowed: readonly T[]): T | undefined {
  return allowed.find((item) => item === value);
}

/** The filters a hash query names; unknown values are ignored (the list shows everything). */
export function readFilters(params: URLSearchParams): RunFilters {
  return {
    flow: params.get("flow") || undefined,
    status: oneOf(params.get("status"), STATUSES),
    trigger: oneOf(params.get("trigger"), TRIGGERS),
  };
}

/** The hash query of `filters`, in a fixed order; empty filters are left out. */
export function filterQuery(filters: RunFilters): string {
  const params = new URLSearchParams();
  if (filters.flow) params.set("flow", filters.flow);
  if (filters.status) params.set("status", filters.status);
  if (filters.trigger) params.set("trigger", filters.trigger);
  return params.toString();
}

export function isFiltered(filters: RunFilters): boolean {
  return Boolean(filters.flow || filters.status || filters.trigger);
}
