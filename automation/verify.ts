/**
 * `verify`: checks each tenant of a deployed stack against live AWS (and Kubernetes): the role exists, its
 * trust admits exactly the tenant's service accounts (evaluated, not string-compared), the permissions
 * policy is attached and matches the stack's, the OIDC provider exists and matches the cluster's issuer
 * (IRSA), the Pod Identity association exists (Pod Identity), and the ServiceAccount carries the role
 * annotation (IRSA). Each failure says what is wrong and how to fix it.
 */
import { DescribeClusterCommand, DescribePodIdentityAssociationCommand, ListPodIdentityAssociationsCommand } from "@aws-sdk/client-eks";
import { GetOpenIDConnectProviderCommand, GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, ListAttachedRolePoliciesCommand } from "@aws-sdk/client-iam";
import { isDeepStrictEqual } from "util";
import { buildS3PermissionsPolicy } from "../components/s3Policy";
import { issuerFromProviderArn, issuerHostPath, serviceAccountSubject, ServiceAccountRef } from "../components/trustPolicy";
import { validateArgs } from "../components/validation";
import { allowStatements, conditionsOn, principalValues } from "../policies/lib/documents";
import { trustAdmitsSubject } from "../policies/lib/trust";
import { StackConfig, TenantConfig, tenantArgs } from "../programs/config";
import { tenantSubjects } from "../programs/sharing";

/** The AWS SDK v3 clients verify uses (anything with `send`, so tests can put recorded responses in front). */
export interface VerifyClients {
    iam: { send(command: any): Promise<any> };
    eks: { send(command: any): Promise<any> };
    /** Reads a ServiceAccount's annotations; undefined when it does not exist. */
    readServiceAccount?: (namespace: string, name: string) => Promise<{ annotations?: Record<string, string> } | undefined>;
}

export interface VerifyFinding {
    stack: string;
    tenant: string;
    check: string;
    ok: boolean;
    message: string;
    fix?: string;
}

/** What the deployed stack exports per tenant (programs/environment.ts). */
export interface DeployedTenant {
    roleArn: string;
}

function errorName(error: unknown): string {
    return (error as { name?: string })?.name ?? "";
}

function decode(document: string | undefined): unknown {
    return document === undefined ? undefined : JSON.parse(decodeURIComponent(document));
}

async function verifyTenant(stack: string, config: StackConfig, tenant: TenantConfig, deployed: DeployedTenant, clients: VerifyClients): Promise<VerifyFinding[]> {
    const findings: VerifyFinding[] = [];
    const record = (check: string, ok: boolean, message: string, fix?: string) => findings.push({ stack, tenant: tenant.namespace, check, ok, message, fix });
    const args = tenantArgs(config, tenant);
    const identity = args.identity ?? "irsa";
    const subjects: ServiceAccountRef[] = tenantSubjects(config, tenant);
    const roleName = deployed.roleArn.split("/").pop()!;
    const partition = deployed.roleArn.split(":")[1];

    let role: any;
    try {
        role = (await clients.iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
        record("role", true, `role ${deployed.roleArn} exists`);
    } catch (error) {
        if (errorName(error) !== "NoSuchEntityException" && errorName(error) !== "NoSuchEntity") throw error;
        record("role", false, `role ${roleName} does not exist`, `run \`ray-s3-access up --stack ${stack}\`, or check that the stack's outputs are from this account`);
        return findings;
    }

    const trust = decode(role.AssumeRolePolicyDocument);
    if (identity === "irsa") {
        const expected = subjects.map(serviceAccountSubject).sort();
        const missing = expected.filter((subject) => !trustAdmitsSubject(trust, subject).admits);
        const admitted = [...new Set(trustAdmitsSubject(trust, "\u0000").admitted)].sort();
        const wildcard = admitted.some((value) => /[*?]/.test(value)) || admitted.includes("*");
        const extra = admitted.filter((value) => !expected.includes(value));
        const ok = missing.length === 0 && extra.length === 0 && !wildcard;
        record(
            "trust",
            ok,
            ok
                ? `trust admits exactly ${expected.join(", ")}`
                : `trust ${missing.length ? `does not admit ${missing.join(", ")}` : ""}${missing.length && (extra.length || wildcard) ? " and " : ""}${extra.length || wildcard ? `also admits ${admitted.filter((v) => !expected.includes(v)).join(", ") || "any service account"}` : ""}`,
            ok ? undefined : `the role's trust was changed outside the stack: run \`ray-s3-access up --stack ${stack}\` (or \`refresh\` then \`up\`) to restore it`,
        );
        const providerArn = allowStatements(trust).flatMap((s) => principalValues(s.principal, "Federated"))[0];
        if (providerArn) {
            try {
                const provider = await clients.iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }));
                const audienceOk = (provider.ClientIDList ?? []).includes("sts.amazonaws.com");
                record("oidc-provider", audienceOk, audienceOk ? `OIDC provider ${providerArn} exists` : `OIDC provider ${providerArn} does not list the audience sts.amazonaws.com`, audienceOk ? undefined : "add sts.amazonaws.com to the provider's audiences (aws iam add-client-id-to-open-id-connect-provider)");
                if (args.clusterName) {
                    const cluster = await clients.eks.send(new DescribeClusterCommand({ name: String(args.clusterName) }));
                    const issuer = issuerHostPath(cluster.cluster?.identity?.oidc?.issuer ?? "");
                    const matches = issuer === issuerFromProviderArn(providerArn);
                    record("oidc-issuer", matches, matches ? `the provider is cluster ${args.clusterName}'s issuer` : `the role trusts ${issuerFromProviderArn(providerArn)}, but cluster ${args.clusterName}'s issuer is ${issuer}`, matches ? undefined : "set ray-s3-access:oidcProviderArn to the cluster's provider (or createOidcProvider) and run up; pods fail with \"Not authorized to perform sts:AssumeRoleWithWebIdentity\" until then");
                }
            } catch (error) {
                if (errorName(error) !== "NoSuchEntityException" && errorName(error) !== "NoSuchEntity") throw error;
                record("oidc-provider", false, `OIDC provider ${providerArn} does not exist`, "create it (ray-s3-access:createOidcProvider: true, or eksctl utils associate-iam-oidc-provider) and run up");
            }
        }
        if (clients.readServiceAccount) {
            for (const ref of subjects) {
                const sa = await clients.readServiceAccount(ref.namespace, ref.name);
                const annotation = sa?.annotations?.["eks.amazonaws.com/role-arn"];
                const ok2 = annotation === deployed.roleArn;
                record(
                    "service-account",
                    ok2,
                    ok2 ? `ServiceAccount ${ref.namespace}/${ref.name} is annotated with the role` : sa ? `ServiceAccount ${ref.namespace}/${ref.name} is annotated with ${annotation ?? "no role"}` : `ServiceAccount ${ref.namespace}/${ref.name} does not exist`,
                    ok2 ? undefined : `kubectl annotate sa -n ${ref.namespace} ${ref.name} --overwrite eks.amazonaws.com/role-arn=${deployed.roleArn}, then restart the pods (the webhook acts at pod creation)`,
                );
            }
        }
    } else {
        for (const ref of subjects) {
            const pinned = allowStatements(trust).some(
                (s) =>
                    principalValues(s.principal, "Service").includes("pods.eks.amazonaws.com") &&
                    [conditionsOn(s, "aws:RequestTag/kubernetes-namespace"), conditionsOn(s, "aws:RequestTag/kubernetes-service-account")].every(
                        (conditions, i) => conditions.length === 0 || conditions.some((c) => c.values.includes(i === 0 ? ref.namespace : ref.name)),
                    ),
            );
            record("trust", pinned, pinned ? `trust admits the Pod Identity agent for ${ref.namespace}/${ref.name}` : `trust does not admit the Pod Identity agent for ${ref.namespace}/${ref.name}`, pinned ? undefined : `run \`ray-s3-access up --stack ${stack}\``);
            const listed = await clients.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: String(args.clusterName), namespace: ref.namespace, serviceAccount: ref.name }));
            const summaries: any[] = listed.associations ?? [];
            let found = false;
            for (const summary of summaries) {
                const described = await clients.eks.send(new DescribePodIdentityAssociationCommand({ clusterName: String(args.clusterName), associationId: summary.associationId }));
                if (described.association?.roleArn === deployed.roleArn) found = true;
            }
            record(
                "pod-identity-association",
                found,
                found ? `Pod Identity association ${ref.namespace}/${ref.name} uses the role` : `no Pod Identity association on ${args.clusterName} gives ${ref.namespace}/${ref.name} this role (${summaries.length} other association(s))`,
                found ? undefined : `run \`ray-s3-access up --stack ${stack}\`; check that the eks-pod-identity-agent add-on is installed`,
            );
        }
    }

    // The S3 policy the stack would attach, compared as documents (not strings).
    const resolved = validateArgs(tenant.namespace, args).buckets;
    const expected = buildS3PermissionsPolicy(partition, resolved);
    const attached = (await clients.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? [];
    let matching = false;
    for (const policy of attached) {
        if (!policy.PolicyArn || policy.PolicyArn.includes(":iam::aws:policy/")) continue;
        const meta = await clients.iam.send(new GetPolicyCommand({ PolicyArn: policy.PolicyArn }));
        const version = await clients.iam.send(new GetPolicyVersionCommand({ PolicyArn: policy.PolicyArn, VersionId: meta.Policy?.DefaultVersionId }));
        if (isDeepStrictEqual(decode(version.PolicyVersion?.Document), expected)) matching = true;
    }
    record(
        "permissions",
        matching,
        matching ? "the attached S3 policy matches the stack's" : `no attached policy matches the stack's S3 policy (${attached.length} attached)`,
        matching ? undefined : `the policy was edited or detached outside the stack: run \`ray-s3-access up --stack ${stack}\``,
    );
    return findings;
}

/** Verifies every tenant of a stack (perTenant roles, buckets in the cluster's account). */
export async function verifyStack(stack: string, config: StackConfig, tenants: Record<string, DeployedTenant>, clients: VerifyClients): Promise<VerifyFinding[]> {
    const findings: VerifyFinding[] = [];
    for (const tenant of config.tenants) {
        const deployed = tenants[tenant.namespace];
        if (!deployed?.roleArn) {
            findings.push({ stack, tenant: tenant.namespace, check: "outputs", ok: false, message: `stack ${stack} exports no role for tenant ${tenant.namespace}`, fix: `run \`ray-s3-access up --stack ${stack}\`` });
            continue;
        }
        if (config.roleSharing !== "perTenant" || tenant.assetsDeployRoleArn) {
            // Shared and cross-account roles: existence only, in this version.
            const exists = await clients.iam.send(new GetRoleCommand({ RoleName: deployed.roleArn.split("/").pop()! })).then(
                () => true,
                (error: unknown) => {
                    if (errorName(error) === "NoSuchEntityException" || errorName(error) === "NoSuchEntity") return false;
                    throw error;
                },
            );
            findings.push({
                stack,
                tenant: tenant.namespace,
                check: "role",
                ok: exists,
                message: `${exists ? "role exists" : "role does not exist"} (shared and cross-account roles: only existence is verified in this version)`,
                fix: exists ? undefined : `run \`ray-s3-access up --stack ${stack}\``,
            });
            continue;
        }
        findings.push(...(await verifyTenant(stack, config, tenant, deployed, clients)));
    }
    return findings;
}
