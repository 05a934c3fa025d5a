/**
 * The role's trust: IRSA subjects and OIDC providers per cluster, and Pod Identity's pins, evaluated as IAM would.
 */
import { DescribeClusterCommand } from "@aws-sdk/client-eks";
import { GetOpenIDConnectProviderCommand } from "@aws-sdk/client-iam";
import { issuerFromProviderArn, issuerHostPath, serviceAccountSubject, ServiceAccountRef } from "../../components/trustPolicy";
import { allowStatements, principalValues } from "../../policies/lib/documents";
import { AssumeRequest, trustAdmitsRequest, trustAdmitsSubject } from "../../policies/lib/trust";
import {
    VerifyClients,
    PROBE,
    POD_IDENTITY_AGENT,
    isNoSuchEntity,
    arnParts,
    RoleGroupUnderTest,
    Recorder,
    listOf,
    ClusterUnderTest,
    eksClient,
} from "./shared";

/** Only the trust's statements for one OIDC provider (to ask what that cluster's tokens get). */
export function statementsFor(trust: unknown, providerArn: string): unknown {
    const document = trust as { Statement?: unknown };
    const list = Array.isArray(document?.Statement) ? document.Statement : [document?.Statement];
    return { ...document, Statement: list.filter((s: any) => [s?.Principal?.Federated].flat().includes(providerArn)) };
}

export async function verifyIrsaTrust(
    stack: string,
    group: RoleGroupUnderTest,
    trust: unknown,
    subjects: ServiceAccountRef[],
    clusters: ClusterUnderTest[],
    clients: VerifyClients,
    out: Recorder,
): Promise<void> {
    const expected = subjects.map(serviceAccountSubject).sort();
    const missing = expected.filter((subject) => !trustAdmitsSubject(trust, subject).admits);
    const admitted = [...new Set(trustAdmitsSubject(trust, "\u0000").admitted)].sort();
    const wildcard = admitted.some((value) => /[*?]/.test(value));
    const extra = admitted.filter((value) => !expected.includes(value));
    const ok = missing.length === 0 && extra.length === 0 && !wildcard;
    const problems = [
        ...(missing.length ? [`does not admit ${listOf(missing)}`] : []),
        ...(extra.length || wildcard ? [`also admits ${listOf(extra) || "any service account"}`] : []),
    ];
    out.add(
        group.label,
        "trust",
        ok,
        ok
            ? `trust admits exactly ${expected.length > 3 ? `the ${expected.length} service accounts of its tenants` : listOf(expected)}`
            : `trust ${problems.join(" and ")}`,
        `the role's trust was changed outside the stack: run \`ray-s3-access up --stack ${stack}\` (or \`refresh\` then \`up\`) to restore it`,
    );
    const trusted = [...new Set(allowStatements(trust).flatMap((s) => principalValues(s.principal, "Federated")))];
    const { partition, account } = arnParts(group.roleArn);
    const expectedProviders: string[] = [];
    for (const [index, cluster] of clusters.entries()) {
        // The provider this cluster's tokens come through: configured, derived from the issuer, or (the primary
        // cluster, found by name only) the one the trust names.
        let issuerOfCluster: string | undefined;
        if (cluster.clusterName) {
            const described = await eksClient(clients, cluster.region).send(new DescribeClusterCommand({ name: cluster.clusterName }));
            issuerOfCluster = issuerHostPath(described.cluster?.identity?.oidc?.issuer ?? "");
        }
        const derive = (issuer: string) => `arn:${partition}:iam::${account}:oidc-provider/${issuer}`;
        const providerArn =
            cluster.oidcProviderArn ??
            (cluster.oidcIssuerUrl ? derive(issuerHostPath(cluster.oidcIssuerUrl)) : index > 0 && issuerOfCluster ? derive(issuerOfCluster) : trusted[0]);
        if (!providerArn) continue;
        expectedProviders.push(providerArn);
        if (clusters.length > 1) {
            const through = statementsFor(trust, providerArn);
            const notAdmitted = expected.filter((subject) => !trustAdmitsSubject(through, subject).admits);
            out.add(
                group.label,
                "trust-cluster",
                notAdmitted.length === 0,
                notAdmitted.length === 0
                    ? `trust admits the service accounts through ${providerArn}${cluster.label}`
                    : `trust does not admit ${listOf(notAdmitted)} through ${providerArn}${cluster.label}: those pods fail with "Not authorized to perform sts:AssumeRoleWithWebIdentity"`,
                `run \`ray-s3-access up --stack ${stack}\` to write one trust statement per cluster`,
            );
        }
        let provider: any;
        try {
            provider = await clients.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }));
        } catch (error) {
            if (!isNoSuchEntity(error)) throw error;
            out.add(
                group.label,
                "oidc-provider",
                false,
                `OIDC provider ${providerArn} does not exist${cluster.label}`,
                "create it (ray-s3-access:createOidcProvider: true, or eksctl utils associate-iam-oidc-provider) and run up",
            );
            continue;
        }
        const audienceOk = (provider.ClientIDList ?? []).includes("sts.amazonaws.com");
        out.add(
            group.label,
            "oidc-provider",
            audienceOk,
            audienceOk ? `OIDC provider ${providerArn} exists${cluster.label}` : `OIDC provider ${providerArn} does not list the audience sts.amazonaws.com`,
            "add sts.amazonaws.com to the provider's audiences (aws iam add-client-id-to-open-id-connect-provider)",
        );
        if (cluster.clusterName && issuerOfCluster !== undefined) {
            // Does the trust name this cluster's issuer at all (whatever the config says the provider is)?
            const matches = trusted.some((arn) => issuerFromProviderArn(arn) === issuerOfCluster);
            out.add(
                group.label,
                "oidc-issuer",
                matches,
                matches
                    ? `the provider is cluster ${cluster.clusterName}'s issuer`
                    : `the role trusts ${listOf(trusted.map(issuerFromProviderArn))}, but cluster ${cluster.clusterName}'s issuer is ${issuerOfCluster}`,
                'set ray-s3-access:oidcProviderArn to the cluster\'s provider (or createOidcProvider) and run up; pods fail with "Not authorized to perform sts:AssumeRoleWithWebIdentity" until then',
            );
        }
    }
    const foreign = clusters.length > 1 ? trusted.filter((arn) => !expectedProviders.includes(arn)) : [];
    if (foreign.length > 0) {
        out.add(
            group.label,
            "trust-cluster",
            false,
            `trust also admits tokens of ${listOf(foreign)}, a provider of no listed cluster`,
            `the trust was changed outside the stack, or a cluster was dropped from additionalClusters: run \`ray-s3-access up --stack ${stack}\``,
        );
    }
}

/** What EKS Pod Identity asks STS for when a pod of `ref` on `cluster` in `account` starts. */
export function agentRequest(partition: string, account: string, region: string, cluster: string, ref: ServiceAccountRef): AssumeRequest {
    const clusterArn = `arn:${partition}:eks:${region}:${account}:cluster/${cluster}`;
    return {
        principal: { kind: "Service", value: POD_IDENTITY_AGENT },
        actions: ["sts:AssumeRole", "sts:TagSession"],
        context: {
            "aws:SourceAccount": account,
            "aws:SourceArn": clusterArn,
            "aws:RequestTag/eks-cluster-name": cluster,
            "aws:RequestTag/eks-cluster-arn": clusterArn,
            "aws:RequestTag/kubernetes-namespace": ref.namespace,
            "aws:RequestTag/kubernetes-service-account": ref.name,
        },
    };
}

export function verifyPodIdentityTrust(
    stack: string,
    group: RoleGroupUnderTest,
    trust: unknown,
    subjects: ServiceAccountRef[],
    cluster: string,
    region: string,
    shared: boolean | "untagged",
    out: Recorder,
): void {
    const { partition, account } = arnParts(group.roleArn);
    const untagged = shared === "untagged";
    const request = (ref: ServiceAccountRef, overrides: { cluster?: string; account?: string } = {}): AssumeRequest => {
        const full = agentRequest(partition, overrides.account ?? account, region, overrides.cluster ?? cluster, ref);
        // Session tags off: EKS sends no aws:RequestTag/... keys.
        return untagged ? { ...full, context: Object.fromEntries(Object.entries(full.context).filter(([k]) => !k.startsWith("aws:RequestTag/"))) } : full;
    };
    const missing = subjects.filter((ref) => !trustAdmitsRequest(trust, request(ref)));
    const first = subjects[0];
    const otherAccount = account === "111111111111" ? "222222222222" : "111111111111";
    // Who must not get in: pods of another cluster or account, and (unless the role is shared by session
    // tags) other service accounts of the same cluster.
    const intruders: [string, AssumeRequest][] = [
        // Without session tags nothing names the cluster: only another account must stay out.
        ...(untagged ? [] : ([[`pods of another cluster (${PROBE})`, request(first, { cluster: PROBE })]] as [string, AssumeRequest][])),
        [`pods of another account (${otherAccount})`, request(first, { account: otherAccount })],
        ...(shared
            ? []
            : ([
                  [`service account ${first.namespace}/${PROBE}`, request({ namespace: first.namespace, name: PROBE })],
                  [`namespace ${PROBE}`, request({ namespace: PROBE, name: first.name })],
              ] as [string, AssumeRequest][])),
    ];
    const admitted = intruders.filter(([, r]) => trustAdmitsRequest(trust, r)).map(([who]) => who);
    const ok = missing.length === 0 && admitted.length === 0;
    const problems = [
        ...(missing.length
            ? [`does not admit the Pod Identity agent of cluster ${cluster} for ${listOf(missing.map((r) => `${r.namespace}/${r.name}`))}`]
            : []),
        ...(admitted.length ? [`also admits ${listOf(admitted)}`] : []),
    ];
    out.add(
        group.label,
        "trust",
        ok,
        ok
            ? untagged
                ? `trust admits the Pod Identity agent of account ${account} (session tags off: any association of the account that names the role), and no other account`
                : shared
                  ? `trust admits the Pod Identity agent of cluster ${cluster} in account ${account}, and nothing else`
                  : `trust admits the Pod Identity agent for exactly ${subjects.length > 3 ? `the ${subjects.length} service accounts of its tenants` : listOf(subjects.map((r) => `${r.namespace}/${r.name}`))}`
            : `trust ${problems.join(" and ")}`,
        missing.length
            ? `run \`ray-s3-access up --stack ${stack}\`; the trust needs sts:AssumeRole and sts:TagSession for ${POD_IDENTITY_AGENT}`
            : `the trust is not pinned (aws:SourceAccount, aws:RequestTag/eks-cluster-name${shared ? "" : ", kubernetes-namespace, kubernetes-service-account"}): run \`ray-s3-access up --stack ${stack}\` to restore it`,
    );
}
