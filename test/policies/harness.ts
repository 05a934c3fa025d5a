/**
 * Factories and assertions for the policy tests: a happy-path resource per kind, and helpers that run rules
 * through `evaluatePolicies` (the policy server's behaviour: unknown-checking proxy, config, not-applicable).
 */
import type { Policies, PolicyPackConfig } from "@pulumi/policy";
import { strict as assert } from "assert";
import { buildIrsaTrustPolicy, buildPodIdentityTrustPolicy, buildS3PermissionsPolicy } from "../../components";
import { EvaluatedResource, evaluatePolicies, resourceUrn, Violation } from "../../automation/evaluatePolicies";
import type { RecordedResource } from "../../automation/mockEngine";
import { policies as allPolicies } from "../../policies/rules";

export const ACCOUNT = "111122223333";
export const ISSUER = "oidc.eks.us-west-2.amazonaws.com/id/ABC123";
export const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const UNKNOWN: string = require("@pulumi/policy/proxy").unknownStringValue;

/** A least-privilege permissions document, as the component writes it. */
export function goodPermissions(): any {
    return buildS3PermissionsPolicy("aws", [{ bucket: "ckpt-bucket", access: "readWrite", prefixes: ["checkpoints/"], kmsKeyArns: [] }]);
}

export function goodIrsaTrust(...serviceAccounts: [string, string][]): any {
    const refs = (serviceAccounts.length ? serviceAccounts : [["ray", "ray-s3-sa"] as [string, string]]).map(([namespace, name]) => ({ namespace, name }));
    return buildIrsaTrustPolicy(PROVIDER_ARN, refs);
}

export function goodPodIdentityTrust(): any {
    return buildPodIdentityTrustPolicy({ accountId: ACCOUNT, clusterName: "ray-prod", serviceAccounts: [{ namespace: "ray", name: "ray-s3-sa" }] });
}

export function statement(overrides: Record<string, unknown>): any {
    return { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::ckpt-bucket/*", ...overrides };
}

export function doc(...statements: any[]): any {
    return { Version: "2012-10-17", Statement: statements };
}

export function resource(type: string, name: string, props: Record<string, any>, stack = "prod", extra: Partial<EvaluatedResource> = {}): EvaluatedResource {
    return { type, name, props, urn: resourceUrn(stack, "ray-s3-access", type, name), ...extra };
}

export const iamPolicy = (document: unknown, stack = "prod") => resource("aws:iam/policy:Policy", "p", { policy: document }, stack);
export const role = (trust: unknown, extra: Record<string, any> = {}, stack = "prod") =>
    resource("aws:iam/role:Role", "r", { assumeRolePolicy: typeof trust === "string" ? trust : JSON.stringify(trust), ...extra }, stack);

export interface RunOptions {
    stackTags?: Record<string, string>;
    config?: PolicyPackConfig;
}

/** Runs policies and returns the violations, optionally only those of one policy. */
export async function run(policies: Policies, resources: EvaluatedResource[], options: RunOptions = {}): Promise<Violation[]> {
    return evaluatePolicies(policies, resources, options);
}

/** Asserts exactly `count` violations of `policy`, each matching every pattern. */
export function expectViolations(violations: Violation[], policy: string, count: number, ...patterns: RegExp[]): Violation[] {
    const mine = violations.filter((v) => v.policy === policy);
    assert.equal(mine.length, count, `expected ${count} ${policy} violation(s), got ${JSON.stringify(mine, null, 1)}`);
    for (const violation of mine) {
        for (const pattern of patterns) assert.match(violation.message, pattern);
    }
    return mine;
}

export function expectNone(violations: Violation[]): void {
    assert.deepEqual(violations, [], `expected no violations, got ${JSON.stringify(violations, null, 1)}`);
}

/** The whole pack on what a program registered under the mock engine, as the CLI's analyzer would see it. */
export function programViolations(resources: RecordedResource[]): Promise<Violation[]> {
    return evaluatePolicies(
        allPolicies,
        resources.map((r) => ({
            type: r.type,
            name: r.name,
            urn: r.urn,
            props: { ...r.inputs, ...r.outputs },
            dependencies: r.dependencies,
            propertyDependencies: r.propertyDependencies,
        })),
    );
}
