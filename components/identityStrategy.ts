/**
 * How pods get the role, one strategy per identity type: what the role's trust admits, and which children hand
 * the role to the pods (the ServiceAccount annotation for web identity, associations for Pod Identity). The
 * component composes them; adding an identity type is one strategy file and one line in `identities.ts`.
 */
import { HandOver, HandOverContext } from "./identityChildren";
import { PolicyStatement } from "./s3Policy";
import { ServiceAccountRef } from "./trustPolicy";
import { IdentityType, RoleSharing } from "./types";

/** Everything a trust document depends on, all plain values (documents stay pure and deterministic). */
export interface TrustScope {
    /** IRSA: the OIDC provider of each cluster, primary first. */
    providerArns: string[];
    /** The account that owns the clusters (Pod Identity's `aws:SourceAccount`). */
    accountId: string;
    /** Pod Identity: every cluster's name, primary first. */
    clusterNames: string[];
    /** The service accounts the role serves. */
    serviceAccounts: ServiceAccountRef[];
    roleSharing: RoleSharing;
    /** IRSA: the token audience `:aud` is pinned to (default sts.amazonaws.com). */
    audience?: string;
    /** Pod Identity: false when the associations turn EKS's session tags off (only the account can be pinned). */
    sessionTags?: boolean;
}

export interface IdentityStrategy {
    readonly identity: IdentityType;
    /** Pods reach the role by web identity through each cluster's OIDC provider; the ServiceAccount names the role. */
    readonly webIdentity: boolean;
    /** Pods reach the role through one EKS Pod Identity association per service account per cluster. */
    readonly podIdentity: boolean;
    /** The role's trust statements. */
    trustStatements(scope: TrustScope): PolicyStatement[];
    /** Creates the children that hand the role to the pods, and returns the identity-specific outputs. */
    handOver(ctx: HandOverContext): HandOver;
}
