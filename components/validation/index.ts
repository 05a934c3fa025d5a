/**
 * Input validation for RayS3Access. Runs before the component registers anything, and reports every problem
 * at once, each naming the field, the value, the rule and the fix. One module per concern; combinations of options
 * are decided in `combinations.ts`.
 */
import { AGENT_OWNER_TAG, DEFAULT_SERVICE_ACCOUNT_NAME } from "../constants";
import { identityStrategy, IdentityStrategy } from "../identities";
import { describeType, externalIdProblem, IAM_LIMITS, namespaceProblem, serviceAccountNameProblem, tagsProblems } from "../names";
import { ResolvedBucketAccess } from "../s3Policy";
import { ServiceAccountRef } from "../trustPolicy";
import { AdditionalCluster, IdentityType, PodIdentityAgent, RayS3AccessArgs, RoleSharing, ServiceAccountMode } from "../types";
import { validateBuckets } from "./buckets";
import { DeferredInputs, plainView, withoutStandIns } from "./deferred";
import { childNameProblems, combinationProblems } from "./combinations";
import { validateAdditionalClusters, ValidationContext, validateWebIdentityToken } from "./clusters";
import { validateSessionPolicies } from "./sessionPolicies";
import { isRecord, shapeProblems } from "./shape";
import { isPlainString, MANAGED_POLICY_ARN, oneOf, partitionProblems, RayS3AccessValidationError, resolvedValueProblem } from "./values";

/** The validated, normalised arguments that the builders need synchronously. */
/** A service account's own buckets under roleSharing "sessionPolicy". */
export interface ResolvedSessionPolicy {
    ref: ServiceAccountRef;
    buckets: ResolvedBucketAccess[];
}

export interface ValidatedArgs {
    /** Which bucket entries and policy ARNs are Outputs: their documents and resources wait for the values. */
    deferred: DeferredInputs;
    identity: IdentityType;
    /** Pod Identity associations without session tags (also implied by roleSharing "sessionPolicy"). */
    disableSessionTags: boolean;
    sessionPolicies: ResolvedSessionPolicy[];
    strategy: IdentityStrategy;
    /** The audience the trust pins (sts.amazonaws.com unless webIdentityToken.audience), and the other annotations. */
    webIdentityToken: { audience: string; annotations: { [key: string]: string } };
    additionalClusters: AdditionalCluster[];
    annotateServiceAccount: boolean;
    roleSharing: RoleSharing;
    manageServiceAccount: ServiceAccountMode;
    /** Pod Identity: what the component does about the agent in each cluster. */
    podIdentityAgent: PodIdentityAgent;
    serviceAccountName: string | undefined;
    namespace: string | undefined;
    additionalServiceAccounts: ServiceAccountRef[];
    buckets: ResolvedBucketAccess[];
    additionalPolicyArns: string[];
    maxSessionDuration: number;
    trustPolicyMaxLength: number;
}

export const DEFAULT_TRUST_POLICY_MAX_LENGTH = 2048;

/** A shape problem that is only an unknown key (an argument, or a key of a nested object). */
const UNKNOWN_KEY = /^(unknown argument "|\S.* has an unknown key ")/;

export function parseServiceAccountRefs(values: readonly string[] | undefined, problems: string[]): ServiceAccountRef[] {
    if (values === undefined) {
        return [];
    }
    const refs: ServiceAccountRef[] = [];
    const seen = new Map<string, number>();
    values.forEach((value, index) => {
        const field = `additionalServiceAccounts[${index}]`;
        if (seen.has(value)) {
            problems.push(`${field} "${value}" repeats additionalServiceAccounts[${seen.get(value)}]: list each service account once`);
            return;
        }
        seen.set(value, index);
        const parts = value.split(":");
        if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
            problems.push(`${field} "${value}" is not "namespace:name": write it as e.g. "kubeflow-alice:default-editor"`);
            return;
        }
        const nsProblem = namespaceProblem(`${field} namespace`, parts[0]);
        const saProblem = serviceAccountNameProblem(`${field} name`, parts[1]);
        if (nsProblem || saProblem) {
            problems.push(...[nsProblem, saProblem].filter((p): p is string => p !== undefined));
            return;
        }
        refs.push({ namespace: parts[0], name: parts[1] });
    });
    return refs;
}

/**
 * Validates the arguments. Values given as Outputs are checked where they are known; everything that is a
 * plain value is checked here, before any resource exists.
 */
export function validateArgs(componentName: string, given: RayS3AccessArgs | undefined, context: ValidationContext = {}): ValidatedArgs {
    const problems: string[] = [];
    if (!given) {
        throw new RayS3AccessValidationError(componentName, ["no arguments: give at least namespace and buckets"]);
    }
    if (!isRecord(given)) {
        throw new RayS3AccessValidationError(componentName, [`the arguments must be an object like { namespace, buckets }, not ${describeType(given)}`]);
    }
    const shape = shapeProblems(given as unknown as Record<string, unknown>);
    // The rest of the checks assume the right types: a wrong type is reported with the shape's other problems first.
    // An unknown key changes no known field's type, so it is reported together with every other problem.
    if (shape.some((p) => !UNKNOWN_KEY.test(p))) throw new RayS3AccessValidationError(componentName, shape);
    problems.push(...shape);
    // Outputs in bucket entries and policy ARNs: checked here through stand-ins, and again when they resolve.
    const { args, deferred } = plainView(given);
    const identity = oneOf("identity", args.identity, IdentityType, IdentityType.Irsa, problems);
    const strategy = identityStrategy(identity);
    const roleSharing = oneOf("roleSharing", args.roleSharing, RoleSharing, RoleSharing.PerTenant, problems);
    const manageServiceAccount = oneOf("manageServiceAccount", args.manageServiceAccount, ServiceAccountMode, ServiceAccountMode.Create, problems);
    const podIdentityAgent = oneOf("podIdentityAgent", args.podIdentityAgent, PodIdentityAgent, PodIdentityAgent.Require, problems);
    if (args.podIdentityAgent !== undefined && !strategy.podIdentity) {
        problems.push(`podIdentityAgent is only valid with Pod Identity (identity "podIdentity" or "irsaAndPodIdentity"): IRSA needs no agent; drop it`);
    }

    let namespace: string | undefined;
    if (args.namespace === undefined || args.namespace === null || args.namespace === "") {
        problems.push(`namespace is required: give the Kubernetes namespace of the workload's ServiceAccount`);
    } else if (isPlainString(args.namespace)) {
        const problem = resolvedValueProblem("namespace", args.namespace);
        if (problem) problems.push(problem);
        namespace = args.namespace;
    }
    let serviceAccountName: string | undefined = DEFAULT_SERVICE_ACCOUNT_NAME;
    if (args.serviceAccountName !== undefined) {
        serviceAccountName = undefined;
        if (isPlainString(args.serviceAccountName)) {
            const problem = serviceAccountNameProblem("serviceAccountName", args.serviceAccountName);
            if (problem) problems.push(problem);
            serviceAccountName = args.serviceAccountName;
        }
    }

    const buckets = validateBuckets(args.buckets, problems, "buckets", componentName);
    const additionalServiceAccounts = parseServiceAccountRefs(args.additionalServiceAccounts, problems);

    if (strategy.webIdentity) {
        const sources = (["oidcProviderArn", "oidcIssuerUrl"] as const).filter((f) => args[f] !== undefined);
        if (sources.length === 2) {
            problems.push(
                `oidcProviderArn and oidcIssuerUrl are both given: give one (the provider's ARN when it exists, the issuer URL with createOidcProvider when it does not)`,
            );
        }
        if (args.createOidcProvider && args.oidcProviderArn !== undefined) {
            problems.push(`createOidcProvider is true but oidcProviderArn names an existing provider: drop one of them`);
        }
        if (sources.length === 0 && args.clusterName === undefined) {
            problems.push(
                `no OIDC provider for IRSA: give oidcProviderArn, oidcIssuerUrl, or clusterName (to look the issuer up), or use identity "podIdentity"`,
            );
        }
        for (const field of ["oidcProviderArn", "oidcIssuerUrl"] as const) {
            const value = args[field];
            const problem = isPlainString(value) ? resolvedValueProblem(field, value) : undefined;
            if (problem) problems.push(problem);
        }
    } else {
        for (const field of ["oidcProviderArn", "oidcIssuerUrl"] as const) {
            if (args[field] !== undefined) {
                problems.push(
                    `${field} is only valid when pods use IRSA (identity "irsa" or "irsaAndPodIdentity"): drop it, Pod Identity needs no OIDC provider`,
                );
            }
        }
        if (args.createOidcProvider) {
            problems.push(
                `createOidcProvider is only valid when pods use IRSA (identity "irsa" or "irsaAndPodIdentity"): drop it, Pod Identity needs no OIDC provider`,
            );
        }
    }
    if (strategy.podIdentity && (args.clusterName === undefined || args.clusterName === "")) {
        problems.push(`clusterName is required when identity is "${identity}": give the EKS cluster's name (Pod Identity associations live in it)`);
    }
    const annotateServiceAccount = args.annotateServiceAccount ?? true;
    if (!annotateServiceAccount && identity !== IdentityType.IrsaAndPodIdentity) {
        problems.push(
            `annotateServiceAccount false is only valid when identity is "irsaAndPodIdentity" (the migration's second step): ` +
                (strategy.webIdentity
                    ? `with identity "irsa" the pods would get no credentials; if another tool annotates the ServiceAccount, use manageServiceAccount "none"`
                    : `Pod Identity writes no annotation; drop it`),
        );
    }
    const additionalClusters = validateAdditionalClusters(args, strategy, problems, context);
    const webIdentityToken = validateWebIdentityToken(args, strategy, problems);
    const combinations = combinationProblems(args, { identity, strategy, roleSharing, buckets });
    problems.push(...combinations.problems);
    const disableSessionTags = combinations.disableSessionTags;
    problems.push(...childNameProblems(args, { strategy, buckets, additionalServiceAccounts, additionalClusters }));
    for (const field of ["permissionsBoundaryArn", "roleName", "rolePath"] as const) {
        const value = args[field];
        const problem = isPlainString(value) ? resolvedValueProblem(field, value) : undefined;
        if (problem) problems.push(problem);
    }
    if (isPlainString(args.clusterName) && args.clusterName !== "") {
        const problem = resolvedValueProblem("clusterName", args.clusterName);
        if (problem) problems.push(problem);
    }
    if (isRecord(args.tags)) problems.push(...tagsProblems("tags", args.tags));
    if (podIdentityAgent === PodIdentityAgent.Create) {
        const problem = agentTagsProblem("tags", args.tags);
        if (problem) problems.push(problem);
    }
    if (isPlainString(args.assetsExternalId)) {
        const problem = externalIdProblem("assetsExternalId", args.assetsExternalId);
        if (problem) problems.push(problem);
    }
    const additionalPolicyArns = args.additionalPolicyArns ?? [];
    additionalPolicyArns.forEach((arn, index) => {
        if (!MANAGED_POLICY_ARN.test(arn)) {
            problems.push(`additionalPolicyArns[${index}] "${arn}" is not a managed policy ARN: expected arn:PARTITION:iam::ACCOUNT:policy/NAME`);
        }
    });
    const maxSessionDuration = args.maxSessionDuration ?? 3600;
    if (!Number.isInteger(maxSessionDuration) || maxSessionDuration < 3600 || maxSessionDuration > 43200) {
        problems.push(`maxSessionDuration ${String(args.maxSessionDuration)} is outside 3600-43200 seconds (1 to 12 hours): IAM rejects it`);
    }
    const trustPolicyMaxLength = args.trustPolicyMaxLength ?? DEFAULT_TRUST_POLICY_MAX_LENGTH;
    if (!Number.isInteger(trustPolicyMaxLength) || trustPolicyMaxLength < 1) {
        problems.push(`trustPolicyMaxLength ${String(args.trustPolicyMaxLength)} must be a positive whole number of characters`);
    } else if (trustPolicyMaxLength > IAM_LIMITS.trustPolicyMax) {
        problems.push(
            `trustPolicyMaxLength ${trustPolicyMaxLength} is above ${IAM_LIMITS.trustPolicyMax}, the most IAM allows for a role trust policy even after a quota increase: use ${IAM_LIMITS.trustPolicyMax} or less`,
        );
    }
    if (namespace !== undefined && serviceAccountName !== undefined) {
        const primary = `${namespace}:${serviceAccountName}`;
        if (additionalServiceAccounts.some((sa) => `${sa.namespace}:${sa.name}` === primary)) {
            problems.push(`additionalServiceAccounts repeats the primary service account "${primary}": drop it from the list`);
        }
    }

    // Partitions are compared among plain ARNs only: an Output's is checked against the stack's when it resolves.
    problems.push(...partitionProblems(given));

    const sessionPolicies =
        roleSharing === RoleSharing.SessionPolicy
            ? validateSessionPolicies(args, namespace, serviceAccountName, additionalServiceAccounts, buckets, problems)
            : [];
    if (problems.length > 0) {
        throw new RayS3AccessValidationError(componentName, deferred.late ? problems.map(withoutStandIns) : problems);
    }
    return {
        deferred,
        identity,
        disableSessionTags,
        sessionPolicies,
        strategy,
        webIdentityToken,
        additionalClusters,
        annotateServiceAccount,
        roleSharing,
        manageServiceAccount,
        podIdentityAgent,
        serviceAccountName,
        namespace,
        additionalServiceAccounts,
        buckets,
        additionalPolicyArns,
        maxSessionDuration,
        trustPolicyMaxLength,
    };
}

export { bucketNameProblem, namespaceProblem, serviceAccountNameProblem } from "../names";

/**
 * `podIdentityAgent: "create"` tags the add-on it adds with the given tags and AGENT_OWNER_TAG: one of EKS's 50 tags
 * per resource is taken, so the given tags may be at most 49 (EKS would refuse the add-on at deployment).
 */
export function agentTagsProblem(field: string, tags: unknown): string | undefined {
    const count = isRecord(tags) ? Object.keys(tags).filter((key) => key !== AGENT_OWNER_TAG).length : 0;
    if (count < IAM_LIMITS.tagsPerResource) return undefined;
    return `${field} has ${count} tags, and podIdentityAgent "create" tags the add-on it adds with ${AGENT_OWNER_TAG} too: EKS takes at most ${IAM_LIMITS.tagsPerResource} per resource, so give at most ${IAM_LIMITS.tagsPerResource - 1}`;
}
export { DEFAULT_SERVICE_ACCOUNT_NAME, regionPartition } from "../constants";
export { isDeferred } from "./shape";
export { plainView, withoutStandIns } from "./deferred";
export type { DeferredInputs, PlainArgs, PlainBucketAccess } from "./deferred";
export type { ValidationContext } from "./clusters";
export {
    DEFERRED_CHECKED_FIELDS,
    KMS_KEY_ARN,
    MANAGED_POLICY_ARN,
    OIDC_PROVIDER_ARN,
    RayS3AccessValidationError,
    resolvedValueProblem,
    plainArns,
    trustPolicyLengthProblem,
} from "./values";
export { ACCESS_POINT_SCOPE_PREFIX_BYTES, accessPointScopePrefixes } from "./buckets";
