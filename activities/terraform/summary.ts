type ResourceChange = { change?: { actions?: string[] } };

/** Counts as terraform's own "Plan: N to add, N to change, N to destroy." line does (a replace is one add + one destroy). */
export function summarisePlan(showJson: string): { add: number; change: number; destroy: number } {
  const doc = JSON.parse(showJson) as { resource_changes?: ResourceChange[] };
  const summary = { add: 0, change: 0, destroy: 0 };
  for (const rc of doc.resource_changes ?? []) {
    const actions = rc.change?.actions ?? [];
    if (actions.includes('create')) summary.add++;
    if (actions.includes('delete')) summary.destroy++;
    if (actions.includes('update')) summary.change++;
  }
  return summary;
}
