/**
 * Feature combinations never widen access: random stacks of sharing mode, clusters, storage kinds, access levels,
 * deletes and tokens, run through the bundled program; for every tenant the independent evaluator is asked whether
 * it is trusted from, associated in, or granted anything (another tenant's clusters, buckets, prefixes, writes,
 * deletes) it did not list. A stack the program refuses is fine; one it accepts must pass every question.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { evaluateProgram, RecordedResource } from "../automation/mockEngine";
import { StackConfigError } from "../programs/config";
import { exposureWarnings } from "../programs/exposure";
import { validateStackConfig } from "../programs/stackConfig";
import { runProgram } from "../programs/main";
import { SHARING_MATRIX } from "../components/validation/combinations";
import { ACCOUNT, identityAllows, sessionAllows, webIdentityAllows } from "./support/iamOracle";
import { resetMocks } from "./support/mocks";

const CLUSTERS = ["blue", "green", "dr"] as const;
type Cluster = (typeof CLUSTERS)[number];
const provider = (cluster: string) => `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/${cluster.toUpperCase()}`;
const DIRECTORY = "ckpt--usw2-az1--x-s3";

interface Entry {
    bucket: string;
    access: "read" | "readWrite" | "mountpoint";
    allowDelete?: boolean;
    prefixes?: string[];
}
interface Tenant {
    namespace: string;
    clusterName?: Cluster;
    additionalClusters?: Cluster[];
    audience?: string;
    buckets: Entry[];
    /** Role options a shared role cannot give one tenant alone. */
    additionalPolicyArn?: string;
    roleName?: boolean;
    mountpointVolumes?: boolean;
}
interface Stack {
    mode: "perTenant" | "packed" | "abac" | "sessionPolicy";
    irsa: boolean;
    tenants: Tenant[];
}

const entry: fc.Arbitrary<Entry> = fc
    .record({
        bucket: fc.constantFrom("shared-data", "team-data", "other-data", DIRECTORY),
        access: fc.constantFrom("read", "readWrite", "mountpoint") as fc.Arbitrary<Entry["access"]>,
        allowDelete: fc.boolean(),
        prefix: fc.constantFrom(undefined, "ckpt/", "data/", "ckpt/team/"),
    })
    .map(({ bucket, access, allowDelete, prefix }) => ({
        bucket,
        access,
        ...(access === "mountpoint" && allowDelete ? { allowDelete: true } : {}),
        ...(prefix && bucket !== DIRECTORY ? { prefixes: [prefix] } : {}),
    }));

const tenantOptions = fc.record({
    clusterName: fc.option(fc.constantFrom(...CLUSTERS), { nil: undefined }),
    additionalClusters: fc.option(fc.subarray([...CLUSTERS], { minLength: 1 }), { nil: undefined }),
    audience: fc.option(fc.constantFrom("sts.amazonaws.com", "ray-jobs"), { nil: undefined }),
    buckets: fc.array(entry, { minLength: 1, maxLength: 2 }),
    additionalPolicyArn: fc.option(fc.constantFrom(`arn:aws:iam::${ACCOUNT}:policy/cloudwatch-metrics`, "arn:aws:iam::aws:policy/ReadOnlyAccess"), {
        nil: undefined,
    }),
    roleName: fc.option(fc.constant(true), { nil: undefined, freq: 4 }),
    mountpointVolumes: fc.option(fc.constant(true), { nil: undefined, freq: 4 }),
});

const stack: fc.Arbitrary<Stack> = fc
    .record({
        mode: fc.constantFrom("perTenant", "packed", "abac", "sessionPolicy") as fc.Arbitrary<Stack["mode"]>,
        irsaForPerTenant: fc.boolean(),
        // Alike: every tenant gets the first one's options, or only its buckets (the shared modes then accept the stack
        // more often, and clusters and tokens are what differs).
        alike: fc.constantFrom("no", "all", "buckets"),
        // Mostly without the options a shared role refuses (roleName, mountpointVolumes, directory buckets under abac),
        // so that the shared modes are accepted often enough to be questioned; sometimes with them, to be refused.
        plain: fc.boolean(),
        tenants: fc.array(tenantOptions, { minLength: 2, maxLength: 3 }),
    })
    .map(({ mode, irsaForPerTenant, alike, plain, tenants }) => {
        const irsa = mode === "packed" || (mode === "perTenant" && irsaForPerTenant);
        const shared = mode !== "perTenant";
        const trimmed = tenants.map((t) =>
            shared && plain
                ? {
                      ...t,
                      roleName: undefined,
                      mountpointVolumes: undefined,
                      buckets: mode === "abac" ? t.buckets.map((e) => (e.bucket === DIRECTORY ? { ...e, bucket: "shared-data" } : e)) : t.buckets,
                  }
                : t,
        );
        return {
            mode,
            irsa,
            tenants: trimmed.map((t, i) => ({
                ...(alike === "all" ? trimmed[0] : t),
                ...(alike === "buckets" ? { buckets: trimmed[0].buckets } : {}),
                namespace: `team-${i}`,
            })),
        };
    });

/** The stack config the bundled program reads. */
function configOf(s: Stack): Record<string, string> {
    const tenants = s.tenants.map((t) => ({
        namespace: t.namespace,
        buckets: t.buckets,
        ...(t.clusterName ? { clusterName: t.clusterName, ...(s.irsa ? { oidcProviderArn: provider(t.clusterName) } : {}) } : {}),
        ...(t.additionalClusters
            ? {
                  additionalClusters: t.additionalClusters
                      .filter((c) => c !== (t.clusterName ?? "blue"))
                      .map((c) => ({ clusterName: c, ...(s.irsa ? { oidcProviderArn: provider(c) } : {}) })),
              }
            : {}),
        ...(s.irsa && t.audience ? { webIdentityToken: { audience: t.audience } } : {}),
        ...(t.additionalPolicyArn ? { additionalPolicyArns: [t.additionalPolicyArn] } : {}),
        ...(t.roleName ? { roleName: `role-${t.namespace}` } : {}),
        ...(t.mountpointVolumes ? { mountpointVolumes: true } : {}),
    }));
    const values: Record<string, unknown> = {
        identity: s.irsa ? "irsa" : "podIdentity",
        clusterName: "blue",
        ...(s.irsa ? { oidcProviderArn: provider("blue") } : {}),
        roleSharing: s.mode,
        tenants,
    };
    return {
        "aws:region": "us-west-2",
        ...Object.fromEntries(Object.entries(values).map(([k, v]) => [`ray-s3-access:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
    };
}

/** The clusters a tenant listed: its own (or the stack's) and its additional ones. */
function listedClusters(t: Tenant): Set<string> {
    return new Set([t.clusterName ?? "blue", ...(t.additionalClusters ?? [])]);
}

/** What a tenant listed for a bucket: may it read, write or delete `key` there? */
function listed(t: Tenant, bucket: string, key: string): { read: boolean; write: boolean; remove: boolean } {
    const entries = t.buckets.filter((e) => e.bucket === bucket && (!e.prefixes || e.prefixes.some((p) => key.startsWith(p))));
    return {
        read: entries.length > 0,
        write: entries.some((e) => e.access !== "read"),
        remove: entries.some((e) => e.access === "readWrite" || e.allowDelete === true),
    };
}

/** A role of the stack: its trust, permissions and the Pod Identity associations that hand it out. */
interface Role {
    trust: string;
    policy: string;
    associations: RecordedResource[];
    name?: string;
    /** The additional policies attached to it. */
    attached: string[];
}

function rolesOf(resources: RecordedResource[]): Role[] {
    return resources
        .filter((r) => r.type === "aws:iam/role:Role")
        .map((role) => ({
            trust: role.inputs.assumeRolePolicy,
            policy: resources.find((r) => r.type === "aws:iam/policy:Policy" && r.parent === role.parent)!.inputs.policy,
            associations: resources.filter((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation" && r.parent === role.parent),
            name: role.inputs.name,
            attached: resources
                .filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && r.parent === role.parent && r.name.includes("-extra-"))
                .map((r) => r.inputs.policyArn),
        }));
}

/** Every way tenant `t`'s pods get a role: the cluster, and the session policy and tags of that way. */
function sessionsOf(s: Stack, t: Tenant, roles: Role[]): { role: Role; cluster: string; sessionPolicy?: string; tags: Record<string, string> }[] {
    const sessions = [];
    const sub = `system:serviceaccount:${t.namespace}:ray-s3-sa`;
    for (const role of roles) {
        if (s.irsa) {
            for (const cluster of CLUSTERS) {
                for (const aud of ["sts.amazonaws.com", "ray-jobs"]) {
                    if (webIdentityAllows(role.trust, provider(cluster), sub, aud)) {
                        sessions.push({ role, cluster, tags: {} });
                        break;
                    }
                }
            }
        } else {
            for (const association of role.associations.filter((a) => a.inputs.namespace === t.namespace && a.inputs.serviceAccount === "ray-s3-sa")) {
                sessions.push({
                    role,
                    cluster: association.inputs.clusterName,
                    sessionPolicy: association.inputs.policy,
                    tags: {
                        "aws:PrincipalTag/eks-cluster-name": association.inputs.clusterName,
                        "aws:PrincipalTag/kubernetes-namespace": t.namespace,
                        "aws:PrincipalTag/kubernetes-service-account": "ray-s3-sa",
                    },
                });
            }
        }
    }
    return sessions;
}

async function allows(session: ReturnType<typeof sessionsOf>[number], action: string, resource: string, context: Record<string, string> = {}) {
    if (session.sessionPolicy) return sessionAllows(session.role.policy, session.sessionPolicy, action, resource);
    return identityAllows(session.role.policy, action, resource, { ...session.tags, ...context });
}

describe("feature combinations never widen access (property, with the evaluator)", function () {
    this.timeout(600_000);
    after(() => resetMocks());

    it("every cell of the sharing matrix is decided, with its reason", () => {
        for (const [option, row] of Object.entries(SHARING_MATRIX)) {
            for (const mode of ["packed", "abac", "sessionPolicy"] as const) assert.ok(row[mode], `${option} x ${mode}`);
            assert.ok(row.why.length > 10, option);
        }
    });

    it("no tenant is trusted from, associated in, or granted anything it did not list", async () => {
        let accepted = 0;
        let refused = 0;
        let reached = 0;
        const acceptedByMode: Record<string, number> = { perTenant: 0, packed: 0, abac: 0, sessionPolicy: 0 };
        await fc.assert(
            fc.asyncProperty(stack, async (s) => {
                const config = configOf(s);
                const raw = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith("ray-s3-access:")));
                let warnings: string[];
                try {
                    warnings = exposureWarnings(validateStackConfig("dev", raw, config["aws:region"]));
                } catch (error) {
                    if (!(error instanceof StackConfigError)) throw error;
                    refused++;
                    return;
                }
                accepted++;
                acceptedByMode[s.mode]++;
                resetMocks();
                const { resources } = await evaluateProgram({ project: "ray-s3-access", stack: "dev", config, program: runProgram, accountId: ACCOUNT });
                const roles = rolesOf(resources);
                for (const t of s.tenants) {
                    const sessions = sessionsOf(s, t, roles);
                    assert.ok(sessions.length > 0, `${t.namespace} gets a role`);
                    // Mountpoint volumes in the tenant's namespace mount only what it listed, and it gets them when it asked.
                    const volumes = resources.filter(
                        (r) => r.type === "kubernetes:core/v1:PersistentVolume" && r.inputs.spec?.claimRef?.namespace === t.namespace,
                    );
                    for (const volume of volumes) {
                        const bucket = volume.inputs.spec.csi.volumeAttributes.bucketName;
                        assert.ok(
                            t.buckets.some((e) => e.bucket === bucket),
                            `${t.namespace} gets a volume of ${bucket}, which it never listed`,
                        );
                    }
                    if (t.mountpointVolumes) assert.ok(volumes.length >= new Set(t.buckets.map((e) => e.bucket)).size, `${t.namespace} gets its volumes`);
                    for (const session of sessions) {
                        assert.ok(
                            listedClusters(t).has(session.cluster),
                            `${t.namespace} reaches a role from cluster ${session.cluster}, which it never listed`,
                        );
                        for (const arn of session.role.attached) {
                            assert.equal(arn, t.additionalPolicyArn, `${t.namespace} reaches a role with ${arn} attached, which it never listed`);
                        }
                        if (t.roleName) assert.equal(session.role.name, `role-${t.namespace}`, `${t.namespace} gets a role named for another tenant`);
                        for (const u of s.tenants) {
                            for (const e of u.buckets) {
                                if (e.bucket === DIRECTORY) {
                                    const arn = `arn:aws:s3express:us-west-2:${ACCOUNT}:bucket/${DIRECTORY}`;
                                    const own = listed(t, DIRECTORY, "");
                                    if (!own.read)
                                        assert.equal(await allows(session, "s3express:CreateSession", arn), false, `${t.namespace} sessions on ${DIRECTORY}`);
                                    if (!own.remove) {
                                        const readWrite = await allows(session, "s3express:CreateSession", arn, { "s3express:SessionMode": "ReadWrite" });
                                        assert.equal(readWrite, false, `${t.namespace} gets ReadWrite (deleting) sessions on ${DIRECTORY}`);
                                    }
                                    continue;
                                }
                                const key = `${e.prefixes?.[0] ?? "any/"}step-1`;
                                const own = listed(t, e.bucket, key);
                                // abac keeps each tenant under its namespace; the question is about u's objects.
                                const object = `arn:aws:s3:::${e.bucket}/${s.mode === "abac" ? `${u.namespace}/` : ""}${key}`;
                                const ownObject = u === t;
                                if (!own.read || (!ownObject && s.mode === "abac")) {
                                    assert.equal(await allows(session, "s3:GetObject", object), false, `${t.namespace} reads ${object}`);
                                }
                                if (!own.write) assert.equal(await allows(session, "s3:PutObject", object), false, `${t.namespace} writes ${object}`);
                                // The environment warns exactly when t's own listing reaches into a prefix only u listed, and
                                // then the evaluator lets t read there.
                                const prefix = e.prefixes?.[0];
                                if (prefix && !ownObject) {
                                    const listedBy = (v: Tenant) => v.buckets.filter((f) => f.bucket === e.bucket).flatMap((f) => f.prefixes ?? [""]);
                                    const reaches =
                                        s.mode !== "abac" &&
                                        !listedBy(t).includes(prefix) &&
                                        listedBy(t).some((q) => q !== prefix && prefix.startsWith(q) && !listedBy(u).includes(q));
                                    const warned = warnings.some(
                                        (w) =>
                                            w.startsWith(`tenant ${s.tenants.indexOf(t)} ("${t.namespace}") can `) &&
                                            w.includes(`tenant ${s.tenants.indexOf(u)} ("${u.namespace}")'s prefix "${prefix}"`),
                                    );
                                    assert.equal(warned, reaches, `${t.namespace} reaching ${u.namespace}'s ${e.bucket}/${prefix}: ${warnings.join("; ")}`);
                                    if (reaches) {
                                        reached++;
                                        assert.ok(
                                            await allows(session, "s3:GetObject", object),
                                            `${t.namespace} is warned of reaching ${object}, which it cannot`,
                                        );
                                    }
                                }
                                if (!own.remove) assert.equal(await allows(session, "s3:DeleteObject", object), false, `${t.namespace} deletes ${object}`);
                            }
                        }
                    }
                }
            }),
            { numRuns: 150, seed: 20261206 },
        );
        // The property is not vacuous: both outcomes occur.
        assert.ok(accepted >= 30, `${accepted} accepted`);
        assert.ok(refused >= 5, `${refused} refused`);
        assert.ok(reached >= 5, `${reached} tenants warned of reaching another's prefix`);
        for (const [mode, count] of Object.entries(acceptedByMode))
            assert.ok(count >= 3, `${count} ${mode} stacks accepted: ${JSON.stringify(acceptedByMode)}`);
    });
});
