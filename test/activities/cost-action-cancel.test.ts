import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { performAzureAction } from '../../activities/cost/azure-actions.ts';
import { azureClient } from '../../activities/cost/azure-client.ts';
import type { CostActionParams } from '../../contracts/kinds/cost-action.ts';
import { startAzurePeer, type AzurePeer } from '../peers/azure.ts';

// A cancel reaches a cost action through its activity's cancellation signal. Before the cloud is asked
// to change, it stops the action; once asked, the change cannot be taken back, so the action waits for
// it and reports it done (the workflow records that outcome despite the cancel). Against the Azure
// peer (test/peers/azure.ts), whose long-running operations read InProgress before they complete.
const tenantId = '0b3a6c1e-7d2f-4e5a-9c8b-1f2e3d4c5b6a';
const subscription = '6e1d2c3b-4a5f-4e6d-8c7b-9a0f1e2d3c4b';
const creds = { clientId: '2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e7f', clientSecret: 'cancel-test-secret~0123456789' };
const location = 'westeurope';

let azure: AzurePeer;
beforeAll(async () => {
  azure = await startAzurePeer({
    tenantId, subscription, ...creds, currency: 'EUR', forecastPerDay: 1, costRows: [], snapshots: [], publicIps: [],
    vms: ['vm-early', 'vm-late'].map((name) => ({ rg: 'rg-c', name, location, size: 'Standard_B2s', power: 'running' as const })),
    disks: [{ rg: 'rg-c', name: 'disk-late', location, sku: 'Standard_LRS', sizeGb: 8, state: 'Unattached' }],
  });
});
afterAll(() => azure?.close());

const client = () => azureClient({ tenantId, clientId: creds.clientId, subscriptions: [subscription], locations: [location], resourceManagerUrl: azure.url, authorityHost: azure.url }, { clientSecret: creds.clientSecret });
const params = (action: CostActionParams['action'], resourceId: string): CostActionParams => ({ integration: crypto.randomUUID(), region: location, action, resourceId });

describe('a cost action cancelled while it runs', () => {
  it('stops before the change when the cancel came first', async () => {
    const id = azure.idOf('rg-c', 'virtualMachines', 'vm-early');
    await expect(performAzureAction(client(), params('stop-instance', id), crypto.randomUUID(), AbortSignal.abort())).rejects.toThrow();
    expect(azure.calls.deallocate).not.toContain(id);
    expect(azure.vm('vm-early')!.power).toBe('running');
  });

  it('waits for a deallocation it asked for and reports it done', async () => {
    const id = azure.idOf('rg-c', 'virtualMachines', 'vm-late');
    const cancel = new AbortController();
    void azure.onNextChange('deallocate').then(() => cancel.abort());
    const result = await performAzureAction(client(), params('stop-instance', id), crypto.randomUUID(), cancel.signal);
    expect(cancel.signal.aborted).toBe(true);
    expect(result.outcome).toBe('done');
    expect(azure.vm('vm-late')!.power).toBe('deallocated');
  });

  it('waits for a disk delete it asked for and reports the snapshot it kept', async () => {
    const id = azure.idOf('rg-c', 'disks', 'disk-late');
    const runId = crypto.randomUUID();
    const cancel = new AbortController();
    void azure.onNextChange('diskDelete').then(() => cancel.abort());
    const result = await performAzureAction(client(), params('delete-volume', id), runId, cancel.signal);
    expect(cancel.signal.aborted).toBe(true);
    expect(result).toMatchObject({ outcome: 'done', snapshotId: azure.idOf('rg-c', 'snapshots', `opssight-${runId}`) });
    expect(azure.disk('disk-late')).toBeUndefined();
    expect(azure.snapshot(`opssight-${runId}`)).toBeDefined();
  });
});
