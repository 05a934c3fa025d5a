/**
 * Trust policies for IRSA and EKS Pod Identity. Pure functions: plain values in, plain documents out.
 */
import { POD_IDENTITY_PRINCIPAL } from "./constants";
import { PolicyDocument, PolicyStatement } from "./s3Policy";

/** The audience EKS puts in projected service-account tokens for AWS. */
export const STS_AUDIENCE = "sts.amazonaws.com";
/** The service principal of the EKS Pod Identity Agent. */
export { POD_IDENTITY_PRINCIPAL };

/** A Kubernetes service account, `namespace` + `name`. */
export interface ServiceAccountRef {
    namespace: string;
    name: string;
}

/** `system:serviceaccount:NS:NAME`, the `sub` claim of a projected service-account token. */
export function serviceAccountSubject(sa: ServiceAccountRef): string {
    return `system:serviceaccount:${sa.namespace}:${sa.name}`;
}

/** `https://oidc.eks.us-west-2.amazonaws.com/id/X/` -> `oidc.eks.us-west-2.amazonaws.com/id/X`. */
export function issuerHostPath(issuerUrl: string): string {
    return issuerUrl.replace(/^https:\/\//, "").replace(/\/+$/, "");
}

/** The issuer host path an IAM OIDC provider ARN names. */
export function issuerFromProviderArn(providerArn: string): string {
    const marker = ":oidc-provider/";
    const at = providerArn.indexOf(marker);
    return at < 0 ? "" : providerArn.slice(at + marker.length);
}

function uniqueSorted(values: string[]): string[] {
    return [...new Set(values)].sort();
}

/** One IRSA statement: the provider may call `sts:AssumeRoleWithWebIdentity` for the subjects, audience STS. */
export function irsaStatement(sid: string, providerArn: string, serviceAccounts: readonly ServiceAccountRef[], audience = STS_AUDIENCE): PolicyStatement {
    const issuer = issuerFromProviderArn(providerArn);
    const subjects = uniqueSorted(serviceAccounts.map(serviceAccountSubject));
    return {
        Sid: sid,
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
            StringEquals: {
                [`${issuer}:aud`]: audience,
                [`${issuer}:sub`]: subjects.length === 1 ? subjects[0] : subjects,
            },
        },
    };
}

/**
 * IRSA statements, one per OIDC provider (a cluster each): each provider may call
 * `sts:AssumeRoleWithWebIdentity` only for tokens whose `sub` is one of the service accounts and whose `aud` is
 * STS, with that provider's own condition keys.
 */
export function irsaStatements(
    providerArns: string | readonly string[],
    serviceAccounts: readonly ServiceAccountRef[],
    audience = STS_AUDIENCE,
): PolicyStatement[] {
    const providers = uniqueInOrder(typeof providerArns === "string" ? [providerArns] : providerArns);
    return providers.map((arn, i) =>
        irsaStatement(i === 0 ? "ServiceAccountWebIdentity" : `ServiceAccountWebIdentity${i + 1}`, arn, serviceAccounts, audience),
    );
}

/** IRSA trust for one OIDC provider, or several (one cluster each). */
export function buildIrsaTrustPolicy(providerArns: string | readonly string[], serviceAccounts: readonly ServiceAccountRef[]): PolicyDocument {
    return { Version: "2012-10-17", Statement: irsaStatements(providerArns, serviceAccounts) };
}

function uniqueInOrder(values: readonly string[]): string[] {
    return [...new Set(values)];
}

/** What pins a Pod Identity trust statement. */
export interface PodIdentityTrustScope {
    /** The account that owns the cluster (`aws:SourceAccount`). */
    accountId: string;
    /** The cluster's name, or every cluster's (`aws:RequestTag/eks-cluster-name`, a list when several). */
    clusterName: string | readonly string[];
    /** The service accounts; each gets its own statement so namespace and name are pinned together. */
    serviceAccounts: readonly ServiceAccountRef[];
}

/** Pod Identity statements, one per service account, each pinned to the account, the clusters, its namespace and name. */
export function podIdentityStatements(scope: PodIdentityTrustScope): PolicyStatement[] {
    const seen = new Set<string>();
    const statements: PolicyStatement[] = [];
    const sorted = [...scope.serviceAccounts].sort((a, b) => (serviceAccountSubject(a) < serviceAccountSubject(b) ? -1 : 1));
    for (const sa of sorted) {
        const key = serviceAccountSubject(sa);
        if (seen.has(key)) {
            continue;
        }
        seen.add(key);
        statements.push(
            podIdentityStatement(`PodIdentity${statements.length + 1}`, scope, {
                "aws:RequestTag/kubernetes-namespace": sa.namespace,
                "aws:RequestTag/kubernetes-service-account": sa.name,
            }),
        );
    }
    return statements;
}

/**
 * Pod Identity trust, as the EKS user guide shows it: `pods.eks.amazonaws.com` may `sts:AssumeRole` and
 * `sts:TagSession`, only from the cluster's account and only with the session tags EKS sets for the given
 * clusters, namespace and service account. Without the pins anyone who can create an association in the
 * account can use the role.
 */
export function buildPodIdentityTrustPolicy(scope: PodIdentityTrustScope): PolicyDocument {
    return { Version: "2012-10-17", Statement: podIdentityStatements(scope) };
}

/** The shared (ABAC) Pod Identity statement: pinned to the account and the clusters only. */
export function sharedPodIdentityStatement(scope: { accountId: string; clusterName: string | readonly string[] }): PolicyStatement {
    return podIdentityStatement("PodIdentityShared", scope);
}

/**
 * The Pod Identity statement for associations with session tags off: EKS sends no `aws:RequestTag/...`, so only
 * the account (`aws:SourceAccount`) can be pinned; any association in the account that names the role gets in.
 */
export function untaggedPodIdentityStatement(scope: { accountId: string }): PolicyStatement {
    return {
        Sid: "PodIdentityUntagged",
        Effect: "Allow",
        Principal: { Service: POD_IDENTITY_PRINCIPAL },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: { StringEquals: { "aws:SourceAccount": scope.accountId } },
    };
}

/**
 * Pod Identity trust for a role shared by many namespaces (ABAC): the EKS user guide's statement pinned to
 * the account and the clusters only; the permissions policy isolates namespaces by session tag.
 */
export function buildSharedPodIdentityTrustPolicy(scope: { accountId: string; clusterName: string | readonly string[] }): PolicyDocument {
    return { Version: "2012-10-17", Statement: [sharedPodIdentityStatement(scope)] };
}

/** The EKS Pod Identity agent's statement, pinned to the account, the clusters and any further session tags. */
function podIdentityStatement(
    sid: string,
    scope: { accountId: string; clusterName: string | readonly string[] },
    pins: { [key: string]: string } = {},
): PolicyStatement {
    const clusters = uniqueInOrder(typeof scope.clusterName === "string" ? [scope.clusterName] : scope.clusterName);
    return {
        Sid: sid,
        Effect: "Allow",
        Principal: { Service: POD_IDENTITY_PRINCIPAL },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: {
            StringEquals: {
                "aws:SourceAccount": scope.accountId,
                "aws:RequestTag/eks-cluster-name": clusters.length === 1 ? clusters[0] : clusters,
                ...pins,
            },
        },
    };
}
