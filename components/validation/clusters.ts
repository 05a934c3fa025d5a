/**
 * Clusters and tokens: the additional clusters a role serves, and IRSA's web-identity token options.
 */
import { IRSA_AUDIENCE_ANNOTATION, IRSA_REGIONAL_STS_ANNOTATION, IRSA_TOKEN_EXPIRATION_ANNOTATION, IRSA_TOKEN_EXPIRATION_RANGE } from "../constants";
import { IdentityStrategy } from "../identities";
import { AdditionalCluster, RayS3AccessArgs, RoleSharing } from "../types";
import type { ValidatedArgs } from "./index";
import { literalProblem, resolvedValueProblem } from "./values";

export const STS_AUDIENCE_DEFAULT = "sts.amazonaws.com";

/** The token options: only where pods use web identity, an audience IAM can pin exactly, the webhook's lifetimes. */
export function validateWebIdentityToken(args: RayS3AccessArgs, strategy: IdentityStrategy, problems: string[]): ValidatedArgs["webIdentityToken"] {
    const token = args.webIdentityToken ?? {};
    const annotations: { [key: string]: string } = {};
    if (args.webIdentityToken !== undefined && !strategy.webIdentity) {
        problems.push(
            `webIdentityToken is only valid when pods use IRSA (identity "irsa" or "irsaAndPodIdentity"): Pod Identity gives pods no web-identity token; drop it`,
        );
    }
    const audience = token.audience ?? STS_AUDIENCE_DEFAULT;
    if (token.audience !== undefined) {
        const literal = literalProblem("webIdentityToken.audience", token.audience, false);
        if (literal) problems.push(`${literal}: the trust pins <issuer>:aud to it exactly`);
        else if (token.audience === "" || /[*?\s]/.test(token.audience) || token.audience.length > 255) {
            problems.push(
                `webIdentityToken.audience "${token.audience}" must be 1 to 255 characters without wildcards or spaces: the trust pins <issuer>:aud to it exactly`,
            );
        } else if (token.audience !== STS_AUDIENCE_DEFAULT) annotations[IRSA_AUDIENCE_ANNOTATION] = token.audience;
    }
    if (token.expirationSeconds !== undefined) {
        const { min, max } = IRSA_TOKEN_EXPIRATION_RANGE;
        if (!Number.isInteger(token.expirationSeconds) || token.expirationSeconds < min || token.expirationSeconds > max) {
            problems.push(
                `webIdentityToken.expirationSeconds ${token.expirationSeconds} is outside ${min}-${max}: the webhook raises shorter lifetimes to ${min} (kube-apiserver's minimum) and EKS allows at most ${max} (24 hours)`,
            );
        } else annotations[IRSA_TOKEN_EXPIRATION_ANNOTATION] = String(token.expirationSeconds);
    }
    if (token.stsRegionalEndpoints !== undefined) annotations[IRSA_REGIONAL_STS_ANNOTATION] = String(token.stsRegionalEndpoints);
    return { audience, annotations };
}

/** What the caller knows of the arguments that they do not say themselves. */
export interface ValidationContext {
    /**
     * The region of each additional cluster (stack config's `region`), in the order of `additionalClusters`; undefined
     * for the stack's own. Without it, an entry's `provider` tells regions apart.
     */
    clusterRegions?: (string | undefined)[];
}

/**
 * The additional clusters: each one the top-level rules (an OIDC source for IRSA, a name for Pod Identity), no
 * cluster or provider twice, names given as plain values (they name the associations).
 */
export function validateAdditionalClusters(
    args: RayS3AccessArgs,
    strategy: IdentityStrategy,
    problems: string[],
    context: ValidationContext = {},
): AdditionalCluster[] {
    const clusters = args.additionalClusters ?? [];
    // The same name in another region is another cluster (disaster recovery): what tells clusters of one name apart is
    // their region, the `provider` of the entry (undefined: the stack's own).
    const regionOf = (index: number): unknown => (context.clusterRegions ? context.clusterRegions[index] : clusters[index]?.provider);
    const regionsByName = new Map<string, unknown[]>();
    if (typeof args.clusterName === "string") regionsByName.set(args.clusterName, [undefined]);
    const names = new Map<string, string>();
    const providers = new Map<string, string>();
    if (typeof args.clusterName === "string") names.set(args.clusterName, "clusterName");
    if (typeof args.oidcProviderArn === "string") providers.set(args.oidcProviderArn, "oidcProviderArn");
    clusters.forEach((cluster, index) => {
        const field = `additionalClusters[${index}]`;
        const sources = (["oidcProviderArn", "oidcIssuerUrl"] as const).filter((f) => cluster[f] !== undefined);
        if (cluster.clusterName !== undefined) {
            const problem = resolvedValueProblem("clusterName", cluster.clusterName, `${field}.clusterName`);
            if (problem) problems.push(problem);
            else {
                const seen = regionsByName.get(cluster.clusterName) ?? [];
                const region = regionOf(index);
                if (seen.includes(region)) {
                    problems.push(
                        `${field}.clusterName "${cluster.clusterName}" repeats ${names.get(cluster.clusterName) ?? "clusterName"} in the same region: list each cluster once (a cluster of the same name in another region needs that region's provider)`,
                    );
                }
                regionsByName.set(cluster.clusterName, [...seen, region]);
                if (!names.has(cluster.clusterName)) names.set(cluster.clusterName, `${field}.clusterName`);
            }
        }
        if (strategy.webIdentity) {
            if (sources.length === 2) problems.push(`${field}: oidcProviderArn and oidcIssuerUrl are both given: give one`);
            if (sources.length === 0 && cluster.clusterName === undefined) {
                problems.push(`${field}: no OIDC provider for IRSA: give oidcProviderArn, oidcIssuerUrl, or clusterName (to look the issuer up)`);
            }
            for (const key of sources) {
                const value = cluster[key];
                const problem = typeof value === "string" ? resolvedValueProblem(key, value, `${field}.${key}`) : undefined;
                if (problem) problems.push(problem);
                else if (key === "oidcProviderArn" && typeof value === "string") {
                    if (providers.has(value)) problems.push(`${field}.oidcProviderArn "${value}" repeats ${providers.get(value)}: list each cluster once`);
                    providers.set(value, `${field}.oidcProviderArn`);
                }
            }
        } else {
            for (const key of sources) {
                problems.push(`${field}.${key} is only valid when pods use IRSA (identity "irsa" or "irsaAndPodIdentity"): drop it`);
            }
        }
        if (strategy.podIdentity && (cluster.clusterName === undefined || cluster.clusterName === "")) {
            problems.push(`${field}.clusterName is required when identity is "${strategy.identity}": the associations are created in the cluster it names`);
        }
    });
    // AssumeRoleWithWebIdentity finds the OIDC provider in the role's own account.
    const accounts = [args.oidcProviderArn, ...clusters.map((c) => c.oidcProviderArn)].map((arn) => (typeof arn === "string" ? arn.split(":")[4] : undefined));
    const primaryAccount = accounts.find((a) => a !== undefined);
    clusters.forEach((cluster, index) => {
        const account = accounts[index + 1];
        if (strategy.webIdentity && account !== undefined && primaryAccount !== undefined && account !== primaryAccount) {
            problems.push(
                `additionalClusters[${index}].oidcProviderArn "${String(cluster.oidcProviderArn)}" is in account ${account}, the role's other providers in ${primaryAccount}: ` +
                    `a role trusts OIDC providers of its own account only; create the cluster's provider in ${primaryAccount} (its issuer URL as oidcIssuerUrl with createOidcProvider, or aws iam create-open-id-connect-provider) and give that ARN`,
            );
        }
    });
    if (args.roleSharing === RoleSharing.Abac && clusters.length > 0 && typeof args.clusterName !== "string") {
        problems.push(`additionalClusters with roleSharing "abac" needs clusterName as a plain string: the permissions policy pins every cluster's name`);
    }
    return clusters;
}
