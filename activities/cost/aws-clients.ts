import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsSecrets, AwsSettings } from '../../contracts/integrations/aws.ts';

/** Cost Explorer has one endpoint, in us-east-1, whatever regions the account uses. */
const COST_EXPLORER_REGION = 'us-east-1';
// A role's session is renewed this long before it expires, so no call starts with credentials about to lapse.
const RENEW_BEFORE_MS = 5 * 60_000;

type Credentials = NonNullable<EC2ClientConfig['credentials']>;
type Identity = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };

export type AwsAccount = { settings: AwsSettings; secrets: AwsSecrets; sessionName: string };

/**
 * Credentials for every client of one account: the stored key pair, or the role assumed with it (or
 * with the worker's own credentials when no pair is stored), renewed before it expires.
 */
function credentialsOf(account: AwsAccount): Credentials | undefined {
  const { settings, secrets } = account;
  const keys = secrets.accessKeyId && secrets.secretAccessKey ? { accessKeyId: secrets.accessKeyId, secretAccessKey: secrets.secretAccessKey } : undefined;
  if (!settings.roleArn) return keys;
  const sts = new STSClient({ region: settings.regions[0], ...(settings.endpoint ? { endpoint: settings.endpoint } : {}), ...(keys ? { credentials: keys } : {}) });
  let current: Promise<Identity> | undefined;
  let expires = 0;
  return () => {
    if (!current || Date.now() > expires - RENEW_BEFORE_MS) {
      current = sts
        .send(new AssumeRoleCommand({ RoleArn: settings.roleArn, RoleSessionName: account.sessionName, ExternalId: settings.externalId, DurationSeconds: 3600 }))
        .then(({ Credentials: c }) => {
          if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`assuming ${settings.roleArn} returned no credentials`);
          expires = c.Expiration?.getTime() ?? Date.now() + 3_600_000;
          return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
        });
      current.catch(() => (current = undefined));
    }
    return current;
  };
}

/** The SDK clients of one account, one EC2 and CloudWatch client per region, built once per activity. */
export function awsClients(account: AwsAccount) {
  const credentials = credentialsOf(account);
  const common = { ...(account.settings.endpoint ? { endpoint: account.settings.endpoint } : {}), ...(credentials ? { credentials } : {}), maxAttempts: 4 };
  const byRegion = new Map<string, { ec2: EC2Client; ec2Once: EC2Client; cloudwatch: CloudWatchClient }>();
  const regional = (region: string) => {
    let c = byRegion.get(region);
    if (!c) {
      byRegion.set(region, (c = {
        ec2: new EC2Client({ ...common, region }),
        ec2Once: new EC2Client({ ...common, region, maxAttempts: 1 }),
        cloudwatch: new CloudWatchClient({ ...common, region }),
      }));
    }
    return c;
  };
  const costExplorer = new CostExplorerClient({ ...common, region: COST_EXPLORER_REGION });
  const sts = new STSClient({ ...common, region: account.settings.regions[0] });
  return {
    regions: account.settings.regions,
    /** The account's 12-digit id, as the credentials in use belong to it. */
    accountId: async () => (await sts.send(new GetCallerIdentityCommand({}))).Account ?? '',
    ec2: (region: string) => regional(region).ec2,
    /**
     * EC2 without the SDK's own retries, for calls that are not idempotent and take no ClientToken
     * (CreateSnapshot): a resend after a 5xx or a reset, when AWS had carried out the first, would do it
     * twice. The activity's retry, which looks for what the first call left before calling again, stands in.
     */
    ec2Once: (region: string) => regional(region).ec2Once,
    cloudwatch: (region: string) => regional(region).cloudwatch,
    costExplorer,
    destroy: () => {
      costExplorer.destroy();
      sts.destroy();
      for (const c of byRegion.values()) {
        c.ec2.destroy();
        c.ec2Once.destroy();
        c.cloudwatch.destroy();
      }
    },
  };
}
export type AwsClients = ReturnType<typeof awsClients>;
