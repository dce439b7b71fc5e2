import { describe, expect, it } from '@jest/globals';
import type { ApplicationFailure } from '@temporalio/common';
import { checkConfiguration, NO_POLICY, type TerraformPolicy } from '../../activities/terraform/policy.ts';
import { FAILURE_TYPES } from '../../contracts/temporal.ts';

const strict: TerraformPolicy = { forbidProvisioners: ['local-exec', 'remote-exec'], forbidExternalData: true };
const refusal = (files: Record<string, string>, policy = strict) => checkConfiguration(files, policy).then(() => undefined, (e: unknown) => e as ApplicationFailure);

describe('the configuration check before init (HashiCorp\'s HCL parser, not a grep)', () => {
  it('refuses a backend or cloud block in any file, override files included, naming file and line', async () => {
    const backend = await refusal({ 'main.tf': 'resource "terraform_data" "x" {}\n', 'override.tf': 'terraform {\n  backend "local" {}\n}\n' }, NO_POLICY);
    expect(backend).toMatchObject({ type: FAILURE_TYPES.invalidConfig, nonRetryable: true });
    expect(backend!.message).toMatch(/^override\.tf line 2 declares a backend/);
    const cloud = await refusal({ 'x_override.tf': 'terraform {\n  cloud {\n    organization = "o"\n  }\n}\n' }, NO_POLICY);
    expect(cloud!.message).toMatch(/x_override\.tf line 2 declares a cloud block/);
    const json = await refusal({ 'main.tf.json': JSON.stringify({ terraform: [{ backend: { s3: {} } }] }) }, NO_POLICY);
    expect(json!.message).toMatch(/main\.tf\.json declares a backend/);
  });

  it('is not fooled by text: a backend or provisioner named in a comment or a string is not a block', async () => {
    const files = {
      'main.tf': [
        '# backend "local" {} and provisioner "local-exec" are only words here',
        'output "doc" {',
        '  value = <<EOT',
        'terraform {',
        '  backend "s3" {}',
        '}',
        'EOT',
        '}',
      ].join('\n'),
    };
    expect(await refusal(files)).toBeUndefined();
  });

  it('refuses what the team forbids: provisioners by kind, the external data source, modules it cannot see', async () => {
    const files = {
      'main.tf': [
        'resource "terraform_data" "a" {',
        '  provisioner "local-exec" {',
        '    command = "id"',
        '  }',
        '}',
        'data "external" "e" {',
        '  program = ["cat", "/etc/passwd"]',
        '}',
        'module "m" {',
        '  source = "git::https://example.test/m.git"',
        '}',
      ].join('\n'),
      'other.tf': 'resource "terraform_data" "b" {\n  provisioner "file" {\n    source = "a"\n    destination = "b"\n  }\n}\n',
    };
    const err = await refusal(files);
    expect(err).toMatchObject({ type: FAILURE_TYPES.policy, nonRetryable: true });
    expect(err!.message).toContain('main.tf line 2: the team\'s policy forbids "local-exec" provisioners');
    expect(err!.message).toContain('main.tf line 6: the team\'s policy forbids the "external" data source');
    expect(err!.message).toContain('main.tf line 9: module "m" comes from git::https://example.test/m.git');
    // "file" is not in this policy's list.
    expect(err!.message).not.toContain('other.tf');
    expect(await refusal(files, NO_POLICY)).toBeUndefined();
  });

  it('reports a syntax error with the parser\'s file, line and column before terraform runs', async () => {
    const err = await refusal({ 'main.tf': 'resource "terraform_data" "x" {\n  input = \n}\n' }, NO_POLICY);
    expect(err).toMatchObject({ type: FAILURE_TYPES.invalidConfig });
    expect(err!.message).toMatch(/^main\.tf:2,\d+-[\d,]+: Invalid expression/);
  });
});
