/**
 * An independent IAM evaluator (@cloud-copilot/iam-simulate, a devDependency) that decides what generated
 * documents allow. Tests ask it questions; they never re-implement IAM's logic.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import * as path from "path";

type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";
export const ACCOUNT = "111122223333";

/** The key policy KMS gives a new key: the account's IAM policies decide. */
const DEFAULT_KEY_POLICY = {
    Version: "2012-10-17",
    Statement: [{ Sid: "EnableIamPolicies", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }],
};

/** Does the identity policy allow `action` on `resource` with these request context values? */
export async function identityAllows(
    policy: string | object,
    action: string,
    resource: string,
    context: Record<string, string | string[]> = {},
    principal = `arn:aws:sts::${ACCOUNT}:assumed-role/ray-s3/session`,
): Promise<boolean> {
    // KMS needs its key policy to delegate to IAM; this is the default key policy that does.
    return allowed([parse(policy)], action.startsWith("kms:") ? DEFAULT_KEY_POLICY : undefined, action, resource, context, principal);
}

function parse(policy: string | object): object {
    return typeof policy === "string" ? JSON.parse(policy) : policy;
}

/** One request through the evaluator: these identity policies and this resource policy. */
async function allowed(
    identityPolicies: object[],
    resourcePolicy: object | undefined,
    action: string,
    resource: string,
    context: Record<string, string | string[]>,
    principal: string,
    resourceAccount?: string,
): Promise<boolean> {
    const result = await runSimulation(
        {
            identityPolicies: identityPolicies.map((policy, i) => ({ name: `permissions-${i}`, policy })),
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy,
            // ARNs without an account (S3) are in `resourceAccount`, else taken to be in the caller's account.
            request: {
                action,
                principal,
                resource: { resource, accountId: resource.split(":")[4] || resourceAccount || principal.split(":")[4] || ACCOUNT },
                contextVariables: context,
            },
        } as any,
        {},
    );
    if (result.resultType === "error") {
        throw new Error(`iam-simulate rejected the simulation of ${action} on ${resource}: ${JSON.stringify(result.errors)}`);
    }
    return result.overallResult === "Allowed";
}

/**
 * With this session policy on the session (an EKS Pod Identity association's `policy`), does the role's identity
 * policy still allow `action` on `resource`? IAM grants the intersection.
 */
export async function sessionAllows(rolePolicy: string | object, sessionPolicy: string | object, action: string, resource: string): Promise<boolean> {
    const parse = (p: string | object) => (typeof p === "string" ? JSON.parse(p) : p);
    const principal = `arn:aws:sts::${ACCOUNT}:assumed-role/ray-s3/eks-pod-identity`;
    const result = await runSimulation(
        {
            identityPolicies: [{ name: "permissions", policy: parse(rolePolicy) }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            sessionPolicy: parse(sessionPolicy),
            request: { action, principal, resource: { resource, accountId: ACCOUNT }, contextVariables: {} },
        } as any,
        {},
    );
    if (result.resultType === "error") {
        throw new Error(`iam-simulate rejected the simulation of ${action} on ${resource}: ${JSON.stringify(result.errors)}`);
    }
    return result.overallResult === "Allowed";
}

/**
 * Does the trust policy let this principal perform `action` (an sts:AssumeRole* or sts:TagSession call)
 * against the role? Service-principal trusts go through the public `runSimulation`.
 */
export async function trustAllows(
    trust: string | object,
    action: string,
    principal: string,
    context: Record<string, string | string[]>,
    roleArn = `arn:aws:iam::${ACCOUNT}:role/ray-s3`,
    /** The caller's identity policy (cross-account assumption needs both sides to allow). */
    identityPolicy?: object,
): Promise<boolean> {
    const result = await runSimulation(
        {
            identityPolicies: identityPolicy ? [{ name: "caller", policy: identityPolicy }] : [],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: typeof trust === "string" ? JSON.parse(trust) : trust,
            request: { action, principal, resource: { resource: roleArn, accountId: roleArn.split(":")[4] || ACCOUNT }, contextVariables: context },
        },
        {},
    );
    if (result.resultType === "error") {
        throw new Error(`iam-simulate rejected the simulation of ${action}: ${JSON.stringify(result.errors)}`);
    }
    return result.overallResult === "Allowed";
}

/*
 * Web identity: the catalog iam-simulate validates context keys against lists no `oidc.eks...:sub` keys
 * (they are per-issuer), so `runSimulation` drops them, and its unvalidated entry point fails on resource
 * policies (it loads them without a name). The core engine both use is called directly instead, with the
 * same policy loader and parameters `runSimulation` passes.
 */
const simulateRoot = path.dirname(require.resolve("@cloud-copilot/iam-simulate"));
/* eslint-disable @typescript-eslint/no-require-imports */
const core = require(path.join(simulateRoot, "core_engine/CoreSimulatorEngine.js"));
const { AwsRequestImpl } = require(path.join(simulateRoot, "request/request.js"));
const { RequestContextImpl } = require(path.join(simulateRoot, "requestContext.js"));
const { DiscoveryContextKeyConstraints } = require(path.join(simulateRoot, "context_keys/discoveryContextKeyConstraints.js"));
const { loadPolicy } = require(require.resolve("@cloud-copilot/iam-policy", { paths: [simulateRoot] }));
/* eslint-enable @typescript-eslint/no-require-imports */

/** Can a token with this `sub` and `aud`, presented through `providerArn`, assume the role? */
export function webIdentityAllows(trust: string | object, providerArn: string, sub: string, aud = "sts.amazonaws.com"): boolean {
    const issuer = providerArn.slice(providerArn.indexOf(":oidc-provider/") + ":oidc-provider/".length);
    const request = new AwsRequestImpl(
        providerArn,
        { resource: `arn:aws:iam::${ACCOUNT}:role/ray-s3`, accountId: ACCOUNT },
        "sts:AssumeRoleWithWebIdentity",
        new RequestContextImpl({ [`${issuer}:sub`]: sub, [`${issuer}:aud`]: aud }),
    );
    const analysis = core.authorize({
        request,
        identityPolicies: [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: loadPolicy(typeof trust === "string" ? JSON.parse(trust) : trust, { name: "trust" }),
        permissionBoundaries: undefined,
        vpcEndpointPolicies: undefined,
        simulationParameters: { simulationMode: "Strict", discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
        serviceSettings: { s3: {} },
    });
    return (analysis.result as Decision) === "Allowed";
}

/** The session tags EKS Pod Identity sets when it assumes a role for a pod. */
export function podIdentityContext(cluster: string, namespace: string, serviceAccount: string, account = ACCOUNT): Record<string, string> {
    return {
        "aws:SourceAccount": account,
        "aws:RequestTag/eks-cluster-name": cluster,
        "aws:RequestTag/eks-cluster-arn": `arn:aws:eks:us-west-2:${account}:cluster/${cluster}`,
        "aws:RequestTag/kubernetes-namespace": namespace,
        "aws:RequestTag/kubernetes-service-account": serviceAccount,
        "aws:RequestTag/kubernetes-pod-name": "ray-head-0",
        "aws:RequestTag/kubernetes-pod-uid": "0a1b2c3d",
    };
}

/**
 * Does a resource's own policy (an access point's, a bucket's) let this principal of the same account perform
 * `action` on `resource`, with no identity policy? It admits named principals by itself.
 */
export async function resourcePolicyAllows(
    resourcePolicy: string | object,
    action: string,
    resource: string,
    context: Record<string, string | string[]> = {},
    principal = `arn:aws:sts::${ACCOUNT}:assumed-role/ray-s3/session`,
): Promise<boolean> {
    return allowed([], parse(resourcePolicy), action, resource, context, principal, ACCOUNT);
}

/** One request as the pack's evaluation core takes it, for the independent evaluator. */
export interface OracleRequest {
    action: string;
    resource?: string;
    principal?: { kind: "AWS" | "Service" | "Federated"; value: string };
    context: Record<string, string | readonly string[]>;
}

/**
 * What the independent evaluator decides for one document on its own (an identity policy, or a resource or trust
 * policy), before the other policy types: `Allow`, `ExplicitDeny` or `ImplicitDeny`. A resource policy that allows
 * (or denies) the caller's account counts as allowing (denying) the caller.
 */
export function oracleDecision(document: object, kind: "identity" | "resource" | "trust", request: OracleRequest): "Allow" | "ExplicitDeny" | "ImplicitDeny" {
    const resource = request.resource ?? `arn:aws:iam::${ACCOUNT}:role/ray-s3`;
    const principal = request.principal?.value ?? `arn:aws:sts::${ACCOUNT}:assumed-role/ray-s3/session`;
    const awsRequest = new AwsRequestImpl(
        principal,
        { resource, accountId: resource.split(":")[4] || ACCOUNT },
        request.action,
        new RequestContextImpl(Object.fromEntries(Object.entries(request.context).map(([k, v]) => [k, typeof v === "string" ? v : [...v]]))),
    );
    const parameters = { simulationMode: "Strict", discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) };
    const result: string =
        kind === "identity"
            ? core.analyzeIdentityPolicies([loadPolicy(document, { name: "p" })], awsRequest, parameters, "identity").result
            : core.analyzeResourcePolicy(loadPolicy(document, { name: "r" }), awsRequest, false, parameters).result;
    if (result === "Allowed" || result === "AllowedForAccount") return "Allow";
    if (result === "ExplicitlyDenied" || result === "DeniedForAccount") return "ExplicitDeny";
    return "ImplicitDeny";
}

/**
 * With `boundary` as the principal's permissions boundary and `identityPolicies` as its identity policies, does the
 * evaluator allow `action` on `resource`? A boundary only limits: with no identity policy it grants nothing.
 */
export function allowsWithBoundary(boundary: object, identityPolicies: object[], action: string, resource: string): boolean {
    const request = new AwsRequestImpl(
        `arn:aws:sts::${ACCOUNT}:assumed-role/ray-s3/session`,
        { resource, accountId: resource.split(":")[4] || ACCOUNT },
        action,
        new RequestContextImpl({}),
    );
    const analysis = core.authorize({
        request,
        identityPolicies: identityPolicies.map((p, i) => loadPolicy(p, { name: `identity-${i}` })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: undefined,
        permissionBoundaries: [loadPolicy(boundary, { name: "boundary" })],
        vpcEndpointPolicies: undefined,
        simulationParameters: { simulationMode: "Strict", discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
        serviceSettings: { s3: {} },
    });
    return analysis.result === "Allowed";
}
