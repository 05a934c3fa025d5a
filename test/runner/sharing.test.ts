import { strict as assert } from "assert";
import { evaluateProgram } from "../../automation/mockEngine";
import { iamPolicyLength } from "../../components/s3Policy";
import { parseStackConfig } from "../../programs/config";
import { runProgram } from "../../programs/main";
import { packedTrustLength, packTenants, permissionSignature, tenantProviderArns } from "../../programs/sharing";
import { tenantSubjects } from "../../programs/config";
import { buildIrsaTrustPolicy, ServiceAccountRef, serviceAccountSubject } from "../../components/trustPolicy";
import fc from "fast-check";
import { resetMocks } from "../support/mocks";
import { sessionAllows, webIdentityAllows } from "../support/iamOracle";

const PROVIDER = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

function tenants(count: number, buckets: unknown[] = [{ bucket: "ray-ckpt", prefixes: ["checkpoints/"] }], offset = 0) {
    return Array.from({ length: count }, (_, i) => ({ namespace: `team-${i + offset}`, buckets }));
}

function config(values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`ray-s3-access:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

describe("roleSharing in the project's program", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    it("abac: 50 tenants = 1 role + 1 policy + 50 associations", async () => {
        const { resources } = await evaluateProgram({
            project: "ray-s3-access",
            stack: "prod",
            config: config({ identity: "podIdentity", clusterName: "ray-prod", roleSharing: "abac", tenants: tenants(50) }),
            program: runProgram,
        });
        const count = (type: string) => resources.filter((r) => r.type === type).length;
        assert.equal(count("aws:iam/role:Role"), 1);
        assert.equal(count("aws:iam/policy:Policy"), 1);
        assert.equal(count("aws:eks/podIdentityAssociation:PodIdentityAssociation"), 50);
        const policy = resources.find((r) => r.type === "aws:iam/policy:Policy")!;
        assert.match(policy.inputs.policy, /arn:aws:s3:::ray-ckpt\/\$\{aws:PrincipalTag\/kubernetes-namespace\}\/checkpoints\/\*/);
    });

    it("abac needs the same buckets for every tenant, and Pod Identity", () => {
        assert.throws(
            () =>
                parseStackConfig("prod", {
                    identity: "podIdentity",
                    clusterName: "c",
                    roleSharing: "abac",
                    tenants: JSON.stringify([...tenants(1), ...tenants(1, [{ bucket: "other-bucket" }], 1)]),
                }),
            /tenant 1 \("team-1"\) field buckets: ray-s3-access:roleSharing "abac" gives every tenant one role, and tenant 0 \("team-0"\) has .* Give every tenant the same buckets/,
        );
    });

    it("packed: identical tenants share roles filled to the trust-policy quota; every subject is admitted by its role only", async () => {
        const { resources } = await evaluateProgram({
            project: "ray-s3-access",
            stack: "dev",
            config: config({
                oidcProviderArn: PROVIDER,
                roleSharing: "packed",
                tenants: [...tenants(60), ...tenants(5, [{ bucket: "datasets", access: "read" }], 60)],
            }),
            program: runProgram,
        });
        const roles = resources.filter((r) => r.type === "aws:iam/role:Role");
        const trusts = roles.map((r) => JSON.parse(r.inputs.assumeRolePolicy));
        for (const trust of trusts) assert.ok(iamPolicyLength(trust) <= 2048);
        const subjectsOf = (trust: any) =>
            [trust.Statement[0].Condition.StringEquals["oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"]].flat();
        const total = trusts.reduce((n, t) => n + subjectsOf(t).length, 0);
        assert.equal(total, 65, "every tenant's service account is in exactly one trust");
        // 60 identical tenants fill as few roles as the quota allows; the 5 read-only tenants get their own role.
        const readOnlyRoles = roles.filter((r) =>
            /datasets/.test(resources.find((p) => p.type === "aws:iam/policy:Policy" && p.parent === r.parent)!.inputs.policy),
        );
        assert.equal(readOnlyRoles.length, 1);
        const perRole = trusts.map((t) => subjectsOf(t).length).sort((a, b) => b - a);
        const mostThatFit = perRole[0];
        assert.ok(mostThatFit >= 30, `a role holds ${mostThatFit} subjects`);
        assert.equal(roles.length, 1 + Math.ceil(60 / mostThatFit));
        // Isolation: a subject is admitted by its own role and by no role of another group.
        const readOnlyTrust = JSON.parse(readOnlyRoles[0].inputs.assumeRolePolicy);
        assert.equal(webIdentityAllows(readOnlyTrust, PROVIDER, "system:serviceaccount:team-61:ray-s3-sa"), true);
        assert.equal(webIdentityAllows(readOnlyTrust, PROVIDER, "system:serviceaccount:team-0:ray-s3-sa"), false);
    });

    it("packed assignment is stable: appending tenants never moves an existing one", () => {
        const base = { oidcProviderArn: PROVIDER, roleSharing: "packed" };
        const before = parseStackConfig("dev", { ...base, tenants: JSON.stringify(tenants(100)) });
        const after = parseStackConfig("dev", { ...base, tenants: JSON.stringify(tenants(130)) });
        const place = (groups: ReturnType<typeof packTenants>) => new Map(groups.flatMap((g) => g.tenants.map((t) => [t.namespace, g.name])));
        const was = place(packTenants(before, before.tenants, 2048));
        const now = place(packTenants(after, after.tenants, 2048));
        for (const [namespace, role] of was) assert.equal(now.get(namespace), role, namespace);
    });

    it("packed with additionalClusters: every role's trust, one statement per cluster, still fits the quota (fewer subjects per role)", async () => {
        const GREEN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/GREEN0000000000000000000000000000";
        const values = { oidcProviderArn: PROVIDER, roleSharing: "packed", tenants: tenants(60) };
        const one = parseStackConfig("dev", config(values));
        const two = parseStackConfig("dev", config({ ...values, additionalClusters: [{ oidcProviderArn: GREEN }] }));
        assert.deepEqual(tenantProviderArns(two, two.tenants[0]), [PROVIDER, GREEN]);
        const rolesOne = packTenants(one, one.tenants, 2048).length;
        const rolesTwo = packTenants(two, two.tenants, 2048).length;
        assert.ok(rolesTwo > rolesOne, `${rolesOne} roles for one cluster, ${rolesTwo} for two`);
        const { resources } = await evaluateProgram({
            project: "ray-s3-access",
            stack: "dev",
            config: config({ ...values, additionalClusters: [{ oidcProviderArn: GREEN }] }),
            program: runProgram,
        });
        const trusts = resources.filter((r) => r.type === "aws:iam/role:Role").map((r) => JSON.parse(r.inputs.assumeRolePolicy));
        assert.equal(trusts.length, rolesTwo);
        for (const trust of trusts) {
            assert.ok(iamPolicyLength(trust) <= 2048);
            assert.equal(trust.Statement.length, 2);
        }
        assert.equal(webIdentityAllows(trusts[0], GREEN, "system:serviceaccount:team-0:ray-s3-sa"), true);
    });

    it("sessionPolicy: one role with the union of the tenants' buckets, each tenant's association limited to its own", async () => {
        const values = {
            identity: "podIdentity",
            clusterName: "ray-prod",
            roleSharing: "sessionPolicy",
            tenants: [
                {
                    namespace: "team-a",
                    buckets: [
                        { bucket: "shared-ckpt", prefixes: ["team-a/"] },
                        { bucket: "datasets", access: "read" },
                    ],
                },
                { namespace: "team-b", buckets: [{ bucket: "shared-ckpt", prefixes: ["team-b/"] }], additionalServiceAccounts: ["team-b:submitter"] },
            ],
        };
        const { resources } = await evaluateProgram({ project: "ray-s3-access", stack: "dev", config: config(values), program: runProgram });
        assert.equal(resources.filter((r) => r.type === "aws:iam/role:Role").length, 1);
        const rolePolicy = JSON.parse(resources.find((r) => r.type === "aws:iam/policy:Policy")!.inputs.policy);
        const objectArns = rolePolicy.Statement.flatMap((st: any) => [st.Resource].flat()).filter((r: string) => r.includes("/"));
        assert.deepEqual(objectArns.sort(), ["arn:aws:s3:::datasets/*", "arn:aws:s3:::shared-ckpt/team-a/*", "arn:aws:s3:::shared-ckpt/team-b/*"]);
        const associations = resources.filter((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation");
        assert.deepEqual(associations.map((a) => `${a.inputs.namespace}/${a.inputs.serviceAccount} ${a.inputs.disableSessionTags}`).sort(), [
            "team-a/ray-s3-sa true",
            "team-b/ray-s3-sa true",
            "team-b/submitter true",
        ]);
        const sessionOf = (ns: string, sa = "ray-s3-sa") =>
            associations.find((a) => a.inputs.namespace === ns && a.inputs.serviceAccount === sa)!.inputs.policy;
        const object = (prefix: string) => `arn:aws:s3:::shared-ckpt/${prefix}x`;
        const role = JSON.stringify(rolePolicy);
        assert.equal(await sessionAllows(role, sessionOf("team-a"), "s3:GetObject", object("team-a/")), true);
        assert.equal(await sessionAllows(role, sessionOf("team-a"), "s3:GetObject", object("team-b/")), false);
        assert.equal(await sessionAllows(role, sessionOf("team-b", "submitter"), "s3:PutObject", object("team-b/")), true);
        assert.equal(await sessionAllows(role, sessionOf("team-b", "submitter"), "s3:GetObject", "arn:aws:s3:::datasets/x"), false);
        // A session policy over EKS's limit is refused for the whole stack before anything is created.
        const wide = {
            ...values,
            tenants: [{ namespace: "team-a", buckets: [{ bucket: "shared-ckpt", prefixes: Array.from({ length: 40 }, (_, i) => `some-prefix-${i}/`) }] }],
        };
        await assert.rejects(
            evaluateProgram({ project: "ray-s3-access", stack: "dev", config: config(wide), program: runProgram }),
            /ray-s3-access:roleSharing "sessionPolicy", shared role "session-shared": sessionPolicies: the session policy of team-a:ray-s3-sa would be \d+ characters, over EKS's limit of 2048/,
        );
        assert.throws(
            () => parseStackConfig("dev", config({ ...values, identity: "irsa", oidcProviderArn: PROVIDER })),
            /roleSharing "sessionPolicy" needs identity "podIdentity" for every tenant/,
        );
    });

    it("a raised quota packs more subjects per role", () => {
        const parsed = parseStackConfig("dev", { oidcProviderArn: PROVIDER, roleSharing: "packed", tenants: JSON.stringify(tenants(200)) });
        const at2048 = packTenants(parsed, parsed.tenants, 2048).length;
        const at4096 = packTenants(parsed, parsed.tenants, 4096).length;
        assert.ok(at4096 < at2048 && at4096 <= Math.ceil(at2048 / 2) + 1, `${at2048} roles at 2048, ${at4096} at 4096`);
    });

    it("shared roles cannot run one stack per tenant", () => {
        assert.throws(
            () => parseStackConfig("dev", { oidcProviderArn: PROVIDER, roleSharing: "packed", tenantStacks: "true", tenants: JSON.stringify(tenants(2)) }),
            /shares roles across tenants, so it cannot run with one stack per tenant/,
        );
    });
});

describe("packed: the incremental packer", function () {
    this.timeout(120_000);

    /** First fit in config order, each candidate's whole trust built and measured: the rule the packer must keep. */
    function firstFitByWholeDocument(parsed: ReturnType<typeof parseStackConfig>, quota: number): Map<string, string> {
        const groups = new Map<string, { arns: string[]; roles: { tenants: string[]; subjects: ServiceAccountRef[] }[] }>();
        for (const tenant of parsed.tenants) {
            const signature = permissionSignature(parsed, tenant);
            if (!groups.has(signature)) groups.set(signature, { arns: tenantProviderArns(parsed, tenant), roles: [] });
            const group = groups.get(signature)!;
            const subjects = tenantSubjects(parsed, tenant);
            const fits = (role: { subjects: ServiceAccountRef[] }) =>
                iamPolicyLength(buildIrsaTrustPolicy(group.arns, [...role.subjects, ...subjects])) <= quota;
            let role = group.roles.find(fits);
            if (!role) group.roles.push((role = { tenants: [], subjects: [] }));
            role.tenants.push(tenant.namespace);
            role.subjects.push(...subjects);
        }
        const placed = new Map<string, string>();
        for (const [signature, group] of groups) group.roles.forEach((role, index) => role.tenants.forEach((t) => placed.set(t, `${signature}:${index}`)));
        return placed;
    }

    it("property: the same roles as first fit measured on the whole trust, for random tenants, service accounts, clusters and quotas", () => {
        const GREEN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/GREEN0000000000000000000000000000";
        let compared = 0;
        let shared = 0;
        fc.assert(
            fc.property(
                fc.array(
                    fc.record({
                        name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
                        extra: fc.array(fc.stringMatching(/^[a-z][a-z0-9]{0,30}$/), { maxLength: 3 }),
                        readOnly: fc.boolean(),
                    }),
                    { minLength: 1, maxLength: 120 },
                ),
                fc.integer({ min: 900, max: 4096 }),
                fc.boolean(),
                (entries, quota, twoClusters) => {
                    const seen = new Set<string>();
                    const list = entries
                        .filter((e) => !seen.has(e.name) && seen.add(e.name))
                        .map((e) => ({
                            namespace: e.name,
                            buckets: [{ bucket: "ray-ckpt", ...(e.readOnly ? { access: "read" } : {}) }],
                            ...(e.extra.length ? { additionalServiceAccounts: [...new Set(e.extra)].map((sa) => `${e.name}:${sa}`) } : {}),
                        }));
                    const values: Record<string, unknown> = { oidcProviderArn: PROVIDER, roleSharing: "packed", tenants: list, trustPolicyMaxLength: quota };
                    if (twoClusters) values.additionalClusters = [{ oidcProviderArn: GREEN }];
                    let parsed;
                    try {
                        parsed = parseStackConfig("dev", config(values));
                    } catch {
                        return; // a tenant alone over the quota, refused by validation
                    }
                    let packed;
                    try {
                        packed = packTenants(parsed, parsed.tenants, quota);
                    } catch (error) {
                        // A tenant alone over the quota (two clusters' statements): refused, as whole-document first fit would.
                        assert.match((error as Error).message, /its service accounts alone exceed the trust-policy quota/);
                        return;
                    }
                    compared++;
                    if (packed.some((g) => g.tenants.length > 1)) shared++;
                    const byRole = new Map(packed.flatMap((g) => g.tenants.map((t) => [t.namespace, g.name])));
                    const expected = firstFitByWholeDocument(parsed, quota);
                    // Same partition: two tenants share a role in one exactly when they do in the other.
                    const names = [...expected.keys()];
                    for (let i = 0; i + 1 < names.length; i++) {
                        assert.equal(
                            byRole.get(names[i]) === byRole.get(names[i + 1]),
                            expected.get(names[i]) === expected.get(names[i + 1]),
                            `${names[i]}, ${names[i + 1]}`,
                        );
                    }
                    // And every role's real trust fits the quota.
                    for (const group of packed) {
                        const trust = buildIrsaTrustPolicy(
                            tenantProviderArns(parsed, group.tenants[0]),
                            group.tenants.flatMap((t) => tenantSubjects(parsed, t)),
                        );
                        assert.ok(iamPolicyLength(trust) <= quota);
                    }
                },
            ),
            { numRuns: 120, seed: 20261206 },
        );
        // Most runs reach the comparison, and most pack several tenants into a role.
        assert.ok(compared >= 80 && shared >= 40, `${compared} compared, ${shared} with shared roles`);
    });

    it("the incremental trust length equals the whole document's, for one and several subjects and providers", () => {
        const GREEN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/GREEN0000000000000000000000000000";
        for (const arns of [[PROVIDER], [PROVIDER, GREEN]]) {
            for (const count of [1, 2, 7, 40]) {
                const subjects = Array.from({ length: count }, (_, i) => ({ namespace: `team-${i * 7}`, name: `sa-${i % 3}` }));
                assert.equal(
                    packedTrustLength(arns, subjects.map(serviceAccountSubject)),
                    iamPolicyLength(buildIrsaTrustPolicy(arns, subjects)),
                    `${arns.length} provider(s), ${count} subject(s)`,
                );
            }
        }
    });
});
