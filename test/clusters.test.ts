/**
 * One role across clusters (additionalClusters) and the IRSA to Pod Identity migration (irsaAndPodIdentity):
 * the resource graph per mode under the mock engine, and what the generated trust admits, decided by the
 * independent evaluator.
 */
import * as aws from "@pulumi/aws";
import { strict as assert } from "assert";
import { evaluatePolicies } from "../automation/evaluatePolicies";
import { RayS3Access, RayS3AccessArgs } from "../components";
import { policies } from "../policies/rules";
import { ACCOUNT, identityAllows, podIdentityContext, sessionAllows, trustAllows, webIdentityAllows } from "./support/iamOracle";
import { recordedForPolicies, resetMocks, resourcesOfType, settle, useStack, valueOf, world } from "./support/mocks";

const issuer = (id: string, region = "us-west-2") => `oidc.eks.${region}.amazonaws.com/id/${id}`;
const providerArn = (id: string, region = "us-west-2") => `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer(id, region)}`;
const BLUE = providerArn("BLUE0000000000000000000000000000");
const GREEN = providerArn("GREEN000000000000000000000000000", "us-east-1");
const OTHER = providerArn("OTHER000000000000000000000000000");
const SA = "system:serviceaccount:ray:ray-s3-sa";
const JOBS = "system:serviceaccount:ray-jobs:submitter";
const ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
const SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount";
const ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";

async function build(args: Partial<RayS3AccessArgs>, name = "ray"): Promise<{ trust: string; policy: string }> {
    const component = new RayS3Access(name, { namespace: "ray", buckets: [{ bucket: "ckpt-bucket", prefixes: ["checkpoints/"] }], ...args } as RayS3AccessArgs);
    const trust = await valueOf(component.trustPolicy);
    const policy = await valueOf(component.permissionsPolicy);
    await settle();
    return { trust, policy };
}

const podIdentityAllows = (trust: string, cluster: string, namespace: string, serviceAccount: string, account = ACCOUNT) =>
    trustAllows(trust, "sts:AssumeRole", "pods.eks.amazonaws.com", podIdentityContext(cluster, namespace, serviceAccount, account)).then(
        async (assume) =>
            assume && (await trustAllows(trust, "sts:TagSession", "pods.eks.amazonaws.com", podIdentityContext(cluster, namespace, serviceAccount, account))),
    );

describe("additionalClusters: one role across clusters", () => {
    beforeEach(() => {
        resetMocks();
        useStack("dev");
    });

    describe("IRSA", () => {
        let trust: string;
        beforeEach(async () => {
            ({ trust } = await build({
                oidcProviderArn: BLUE,
                additionalClusters: [{ oidcProviderArn: GREEN }],
                additionalServiceAccounts: ["ray-jobs:submitter"],
            }));
        });

        it("writes one statement per OIDC provider, each with its own :sub and :aud keys", () => {
            const statements = JSON.parse(trust).Statement;
            assert.deepEqual(
                statements.map((s: any) => s.Principal.Federated),
                [BLUE, GREEN],
            );
            for (const [statement, id] of [
                [statements[0], issuer("BLUE0000000000000000000000000000")],
                [statements[1], issuer("GREEN000000000000000000000000000", "us-east-1")],
            ] as const) {
                assert.deepEqual(statement.Condition.StringEquals, { [`${id}:aud`]: "sts.amazonaws.com", [`${id}:sub`]: [JOBS, SA] });
            }
        });

        it("the evaluator: every trusted service account gets in from every listed cluster", () => {
            for (const provider of [BLUE, GREEN]) {
                assert.equal(webIdentityAllows(trust, provider, SA), true, provider);
                assert.equal(webIdentityAllows(trust, provider, JOBS), true, provider);
            }
        });

        it("the evaluator: nothing else does (another cluster, a crossed pair, another audience, a plain AssumeRole)", async () => {
            assert.equal(webIdentityAllows(trust, OTHER, SA), false);
            for (const provider of [BLUE, GREEN]) {
                assert.equal(webIdentityAllows(trust, provider, "system:serviceaccount:ray:submitter"), false);
                assert.equal(webIdentityAllows(trust, provider, "system:serviceaccount:ray-jobs:ray-s3-sa"), false);
                assert.equal(webIdentityAllows(trust, provider, SA, "sts.example.com"), false);
            }
            assert.equal(await trustAllows(trust, "sts:AssumeRole", `arn:aws:iam::${ACCOUNT}:root`, {}), false);
        });

        it("looks up a cluster's issuer with its own provider, and derives the provider ARN from it", async () => {
            resetMocks();
            world.clusterIssuers = { "ray-green": `https://${issuer("LOOKEDUP00000000000000000000000", "us-east-1")}` };
            const east = new aws.Provider("us-east-1", { region: "us-east-1" });
            const { trust: looked } = await build({ oidcProviderArn: BLUE, additionalClusters: [{ clusterName: "ray-green", provider: east }] });
            const lookup = world.calls.find((c) => c.token === "aws:eks/getCluster:getCluster" && c.inputs.name === "ray-green");
            assert.ok(lookup?.provider?.includes("us-east-1"), `looked up with the cluster's provider: ${JSON.stringify(lookup)}`);
            assert.equal(webIdentityAllows(looked, providerArn("LOOKEDUP00000000000000000000000", "us-east-1"), SA), true);
        });

        it("the trust-size check accounts for the growth: the quota error names the size", async () => {
            const many = Array.from({ length: 12 }, (_, i) => ({ oidcProviderArn: providerArn(`C${String(i).padStart(31, "0")}`) }));
            assert.throws(
                () => new RayS3Access("wide", { namespace: "ray", oidcProviderArn: BLUE, additionalClusters: many, buckets: [{ bucket: "ckpt-bucket" }] }),
                /the trust policy would be \d+ characters .* over the IAM quota of 2048/,
            );
        });
    });

    describe("Pod Identity", () => {
        it("pins every cluster and associates every service account in every cluster, with the cluster's provider", async () => {
            const east = new aws.Provider("east", { region: "us-east-1" });
            const { trust } = await build({
                identity: "podIdentity",
                clusterName: "ray-blue",
                additionalClusters: [{ clusterName: "ray-green", provider: east }],
                additionalServiceAccounts: ["ray-jobs:submitter"],
            });
            const associations = resourcesOfType(ASSOCIATION);
            assert.deepEqual(associations.map((a) => `${a.name} ${a.inputs.clusterName} ${a.inputs.namespace}/${a.inputs.serviceAccount}`).sort(), [
                "ray-association ray-blue ray/ray-s3-sa",
                "ray-association-ray-green ray-green ray/ray-s3-sa",
                "ray-association-ray-jobs-submitter ray-blue ray-jobs/submitter",
                "ray-association-ray-jobs-submitter-ray-green ray-green ray-jobs/submitter",
            ]);
            for (const association of associations) {
                assert.equal(association.inputs.clusterName === "ray-green", association.provider?.includes("east") ?? false, association.name);
            }
            for (const cluster of ["ray-blue", "ray-green"]) {
                assert.equal(await podIdentityAllows(trust, cluster, "ray", "ray-s3-sa"), true, cluster);
                assert.equal(await podIdentityAllows(trust, cluster, "ray-jobs", "submitter"), true, cluster);
                assert.equal(await podIdentityAllows(trust, cluster, "ray", "submitter"), false, `${cluster} crossed pair`);
            }
            assert.equal(await podIdentityAllows(trust, "ray-red", "ray", "ray-s3-sa"), false, "another cluster");
            assert.equal(await podIdentityAllows(trust, "ray-blue", "ray", "ray-s3-sa", "444455556666"), false, "another account");
        });

        it("abac: the permissions pin the session's cluster tag to every listed cluster", async () => {
            const { trust, policy } = await build({
                identity: "podIdentity",
                roleSharing: "abac",
                clusterName: "ray-blue",
                additionalClusters: [{ clusterName: "ray-green" }],
            });
            assert.equal(await podIdentityAllows(trust, "ray-green", "anyone", "any-sa"), true);
            const object = "arn:aws:s3:::ckpt-bucket/team-a/checkpoints/step-1";
            const tags = (cluster: string) => ({ "aws:PrincipalTag/kubernetes-namespace": "team-a", "aws:PrincipalTag/eks-cluster-name": cluster });
            assert.equal(await identityAllows(policy, "s3:GetObject", object, tags("ray-green")), true);
            assert.equal(await identityAllows(policy, "s3:GetObject", object, tags("ray-blue")), true);
            assert.equal(await identityAllows(policy, "s3:GetObject", object, tags("ray-red")), false);
            assert.equal(await identityAllows(policy, "s3:GetObject", "arn:aws:s3:::ckpt-bucket/team-b/checkpoints/x", tags("ray-green")), false);
        });
    });

    describe("validation, before anything is created", () => {
        const reject = (args: Partial<RayS3AccessArgs>, ...patterns: RegExp[]) => {
            const error = (() => {
                try {
                    new RayS3Access("bad", { namespace: "ray", buckets: [{ bucket: "ckpt-bucket" }], ...args } as RayS3AccessArgs);
                } catch (e) {
                    return e as Error;
                }
                return undefined;
            })();
            assert.ok(error, "expected a validation error");
            for (const pattern of patterns) assert.match(error.message, pattern);
            assert.equal(world.resources.length, 0, "nothing registered");
        };

        it("refuses wrong shapes, unknown keys (with the nearest), repeats, and missing pieces per identity", () => {
            reject({ oidcProviderArn: BLUE, additionalClusters: "ray-green" as any }, /additionalClusters must be a list/);
            reject(
                { oidcProviderArn: BLUE, additionalClusters: [{ clusterNmae: "x" } as any] },
                /additionalClusters\[0\] has an unknown key "clusterNmae" \(did you mean "clusterName"\?\)/,
            );
            reject(
                { oidcProviderArn: BLUE, additionalClusters: [{ oidcProviderArn: BLUE }] },
                /additionalClusters\[0\].oidcProviderArn ".*" repeats oidcProviderArn/,
            );
            reject({ oidcProviderArn: BLUE, additionalClusters: [{}] }, /additionalClusters\[0\]: no OIDC provider for IRSA/);
            reject(
                { oidcProviderArn: BLUE, additionalClusters: [{ oidcProviderArn: "arn:aws:iam::1:role/x" }] },
                /additionalClusters\[0\].oidcProviderArn "arn:aws:iam::1:role\/x" is not an IAM OIDC provider ARN/,
            );
            reject(
                { identity: "podIdentity", clusterName: "ray-blue", additionalClusters: [{ oidcProviderArn: GREEN }] },
                /additionalClusters\[0\].clusterName is required when identity is "podIdentity"/,
                /additionalClusters\[0\].oidcProviderArn is only valid when pods use IRSA/,
            );
            reject(
                { identity: "podIdentity", clusterName: "ray-blue", additionalClusters: [{ clusterName: "ray-blue" }] },
                /additionalClusters\[0\].clusterName "ray-blue" repeats clusterName/,
            );
            reject(
                { identity: "podIdentity", clusterName: "ray-blue", additionalClusters: [{ clusterName: "Ray Green!" }] },
                /additionalClusters\[0\].clusterName/,
            );
            reject(
                { identity: "podIdentity", clusterName: "ray-blue", additionalClusters: [{ clusterName: "g", provider: "us-east-1" as any }] },
                /additionalClusters\[0\].provider must be an aws.Provider/,
            );
        });
    });
});

describe("identity irsaAndPodIdentity: the migration without a cut-over", () => {
    beforeEach(() => {
        resetMocks();
        useStack("dev");
    });

    const args: Partial<RayS3AccessArgs> = {
        identity: "irsaAndPodIdentity",
        clusterName: "ray-blue",
        oidcProviderArn: BLUE,
        additionalServiceAccounts: ["ray-jobs:submitter"],
    };

    it("step 1: the trust admits both paths, the ServiceAccount keeps its annotation, and the associations exist", async () => {
        const { trust } = await build(args);
        const accounts = resourcesOfType(SERVICE_ACCOUNT);
        assert.equal(accounts.length, 2);
        for (const sa of accounts) assert.ok(sa.inputs.metadata.annotations?.[ROLE_ANNOTATION], `${sa.name} is annotated`);
        assert.equal(resourcesOfType(ASSOCIATION).length, 2);
        // Web identity: exactly the trusted service accounts.
        assert.equal(webIdentityAllows(trust, BLUE, SA), true);
        assert.equal(webIdentityAllows(trust, BLUE, JOBS), true);
        assert.equal(webIdentityAllows(trust, BLUE, "system:serviceaccount:ray:submitter"), false);
        assert.equal(webIdentityAllows(trust, OTHER, SA), false);
        // Pod Identity: exactly the trusted service accounts, from the cluster and the account.
        assert.equal(await podIdentityAllows(trust, "ray-blue", "ray", "ray-s3-sa"), true);
        assert.equal(await podIdentityAllows(trust, "ray-blue", "ray-jobs", "submitter"), true);
        assert.equal(await podIdentityAllows(trust, "ray-blue", "ray-jobs", "ray-s3-sa"), false);
        assert.equal(await podIdentityAllows(trust, "ray-red", "ray", "ray-s3-sa"), false);
    });

    it("step 2: annotateServiceAccount false drops the annotation, and the trust still admits IRSA tokens of pods not yet restarted", async () => {
        const { trust } = await build({ ...args, annotateServiceAccount: false });
        for (const sa of resourcesOfType(SERVICE_ACCOUNT)) assert.equal(sa.inputs.metadata.annotations?.[ROLE_ANNOTATION], undefined, sa.name);
        assert.equal(webIdentityAllows(trust, BLUE, SA), true);
        assert.equal(await podIdentityAllows(trust, "ray-blue", "ray", "ray-s3-sa"), true);
    });

    it("step 3: identity podIdentity keeps the role and the associations (same names: updated in place) and drops IRSA", async () => {
        const before = await build(args);
        const names = (type: string) =>
            resourcesOfType(type)
                .map((r) => r.name)
                .sort();
        const step1 = { roles: names("aws:iam/role:Role"), associations: names(ASSOCIATION) };
        resetMocks();
        const { trust } = await build({ identity: "podIdentity", clusterName: "ray-blue", additionalServiceAccounts: ["ray-jobs:submitter"] });
        assert.deepEqual({ roles: names("aws:iam/role:Role"), associations: names(ASSOCIATION) }, step1);
        assert.equal(webIdentityAllows(trust, BLUE, SA), false);
        assert.equal(webIdentityAllows(before.trust, BLUE, SA), true);
        assert.equal(await podIdentityAllows(trust, "ray-blue", "ray", "ray-s3-sa"), true);
    });

    it("with additionalClusters, both paths admit the service accounts of every cluster", async () => {
        const { trust } = await build({ ...args, additionalClusters: [{ clusterName: "ray-green", oidcProviderArn: GREEN }] });
        assert.equal(webIdentityAllows(trust, GREEN, SA), true);
        assert.equal(await podIdentityAllows(trust, "ray-green", "ray", "ray-s3-sa"), true);
        assert.equal(resourcesOfType(ASSOCIATION).length, 4);
    });

    it("needs both an OIDC source and a cluster name; abac and annotateServiceAccount elsewhere are refused", () => {
        assert.throws(
            () => new RayS3Access("x", { namespace: "ray", identity: "irsaAndPodIdentity", oidcProviderArn: BLUE, buckets: [{ bucket: "b-bucket" }] }),
            /clusterName is required when identity is "irsaAndPodIdentity"/,
        );
        assert.throws(
            () =>
                new RayS3Access("x", {
                    namespace: "ray",
                    identity: "irsaAndPodIdentity",
                    clusterName: "c",
                    roleSharing: "abac",
                    buckets: [{ bucket: "b-bucket" }],
                }),
            /roleSharing "abac" is only valid when identity is "podIdentity"/,
        );
        assert.throws(
            () => new RayS3Access("x", { namespace: "ray", oidcProviderArn: BLUE, annotateServiceAccount: false, buckets: [{ bucket: "b-bucket" }] }),
            /annotateServiceAccount false is only valid when identity is "irsaAndPodIdentity".*with identity "irsa" the pods would get no credentials/,
        );
    });

    it("the policy pack passes every mode in production: both paths and every cluster are pinned", async () => {
        for (const mode of [
            args,
            { ...args, annotateServiceAccount: false },
            { ...args, additionalClusters: [{ clusterName: "ray-green", oidcProviderArn: GREEN }] },
            { identity: "podIdentity" as const, clusterName: "ray-blue", additionalClusters: [{ clusterName: "ray-green" }] },
            { oidcProviderArn: BLUE, additionalClusters: [{ oidcProviderArn: GREEN }] },
        ]) {
            resetMocks();
            useStack("prod");
            await build(mode);
            assert.deepEqual(await evaluatePolicies(policies, recordedForPolicies("prod")), [], JSON.stringify(mode));
        }
        useStack("dev");
    });
});

describe("webIdentityToken: the annotations IRSA's webhook reads", () => {
    beforeEach(() => {
        resetMocks();
        useStack("dev");
    });

    it("writes audience, lifetime and regional STS on the ServiceAccount, pins :aud to the audience, and the evaluator agrees", async () => {
        const { trust } = await build({
            oidcProviderArn: BLUE,
            webIdentityToken: { audience: "ray.example.com", expirationSeconds: 3600, stsRegionalEndpoints: true },
        });
        const [sa] = resourcesOfType(SERVICE_ACCOUNT);
        assert.deepEqual(Object.keys(sa.inputs.metadata.annotations).sort(), [
            "eks.amazonaws.com/audience",
            "eks.amazonaws.com/role-arn",
            "eks.amazonaws.com/sts-regional-endpoints",
            "eks.amazonaws.com/token-expiration",
        ]);
        assert.equal(sa.inputs.metadata.annotations["eks.amazonaws.com/audience"], "ray.example.com");
        assert.equal(sa.inputs.metadata.annotations["eks.amazonaws.com/token-expiration"], "3600");
        assert.equal(sa.inputs.metadata.annotations["eks.amazonaws.com/sts-regional-endpoints"], "true");
        assert.equal(webIdentityAllows(trust, BLUE, SA, "ray.example.com"), true);
        assert.equal(webIdentityAllows(trust, BLUE, SA, "sts.amazonaws.com"), false, "a token for another audience is refused");
    });

    it("the audience is pinned also when the provider ARN is only known at deployment (looked up from the cluster)", async () => {
        const { trust } = await build({ clusterName: "ray-blue", webIdentityToken: { audience: "ray.example.com" } });
        const looked = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`;
        assert.equal(webIdentityAllows(trust, looked, SA, "ray.example.com"), true);
        assert.equal(webIdentityAllows(trust, looked, SA, "sts.amazonaws.com"), false);
    });

    it("the default audience writes no audience annotation; a created provider lists the custom audience", async () => {
        await build({ oidcProviderArn: BLUE, webIdentityToken: { stsRegionalEndpoints: false } });
        assert.equal(resourcesOfType(SERVICE_ACCOUNT)[0].inputs.metadata.annotations["eks.amazonaws.com/audience"], undefined);
        resetMocks();
        await build({
            oidcIssuerUrl: `https://${issuer("NEW00000000000000000000000000000")}`,
            createOidcProvider: true,
            webIdentityToken: { audience: "ray.example.com" },
        });
        const [provider] = resourcesOfType("aws:iam/openIdConnectProvider:OpenIdConnectProvider");
        assert.deepEqual(provider.inputs.clientIdLists, ["sts.amazonaws.com", "ray.example.com"]);
    });

    it("refuses what the webhook or IAM would not take, before anything is created", () => {
        const refuse = (token: unknown, pattern: RegExp, extra: Partial<RayS3AccessArgs> = { oidcProviderArn: BLUE }) =>
            assert.throws(
                () => new RayS3Access("bad", { namespace: "ray", buckets: [{ bucket: "b-bucket" }], ...extra, webIdentityToken: token } as RayS3AccessArgs),
                pattern,
            );
        refuse({ expirationSeconds: 60 }, /webIdentityToken.expirationSeconds 60 is outside 600-86400/);
        refuse({ expirationSeconds: 90000 }, /outside 600-86400/);
        refuse({ audience: "*" }, /webIdentityToken.audience "\*" must be 1 to 255 characters without wildcards/);
        refuse({ audeince: "x" }, /webIdentityToken has an unknown key "audeince" \(did you mean "audience"\?\)/);
        refuse({ stsRegionalEndpoints: "yes" }, /webIdentityToken.stsRegionalEndpoints must be true or false/);
        refuse({ audience: "x" }, /webIdentityToken is only valid when pods use IRSA/, { identity: "podIdentity", clusterName: "c" });
        assert.equal(world.resources.length, 0);
    });

    it("the stack rule catches a ServiceAccount whose audience the trust does not pin", async () => {
        useStack("prod");
        await build({ oidcProviderArn: BLUE, webIdentityToken: { audience: "ray.example.com" } });
        // The ServiceAccount's audience changed by hand after deployment.
        const resources = recordedForPolicies("prod").map((r) =>
            r.type === SERVICE_ACCOUNT
                ? {
                      ...r,
                      props: {
                          ...r.props,
                          metadata: {
                              ...r.props.metadata,
                              annotations: { ...r.props.metadata.annotations, "eks.amazonaws.com/audience": "other.example.com" },
                          },
                      },
                  }
                : r,
        );
        const violations = await evaluatePolicies(policies, resources);
        assert.ok(
            violations.some(
                (v) =>
                    v.policy === "service-account-role-trust-match" &&
                    /tokens for audience "other.example.com", but role .* pins :aud to \["ray.example.com"\]/.test(v.message),
            ),
            JSON.stringify(violations),
        );
        useStack("dev");
    });
});

describe("disableSessionTags and roleSharing sessionPolicy (Pod Identity)", () => {
    beforeEach(() => {
        resetMocks();
        useStack("dev");
    });

    const shared: Partial<RayS3AccessArgs> = {
        identity: "podIdentity",
        clusterName: "ray-blue",
        roleSharing: "sessionPolicy",
        additionalServiceAccounts: ["team-b:ray-s3-sa"],
        namespace: "team-a",
        buckets: [
            { bucket: "shared-ckpt", prefixes: ["team-a/", "team-b/"] },
            { bucket: "datasets", access: "read" },
        ],
        sessionPolicies: [
            {
                serviceAccount: "team-a:ray-s3-sa",
                buckets: [
                    { bucket: "shared-ckpt", prefixes: ["team-a/"] },
                    { bucket: "datasets", access: "read" },
                ],
            },
            { serviceAccount: "team-b:ray-s3-sa", buckets: [{ bucket: "shared-ckpt", prefixes: ["team-b/"] }] },
        ],
    };

    it("one role holds the union; each association carries its tenant's session policy with session tags off", async () => {
        const { policy } = await build(shared, "shared");
        const associations = resourcesOfType(ASSOCIATION);
        assert.equal(associations.length, 2);
        for (const association of associations) {
            assert.equal(association.inputs.disableSessionTags, true);
            assert.ok(JSON.parse(association.inputs.policy).Statement.length > 0, association.name);
        }
        assert.equal(resourcesOfType("aws:iam/role:Role").length, 1);
        const sessionOf = (ns: string) => associations.find((a) => a.inputs.namespace === ns)!.inputs.policy;
        // The evaluator: the session policy intersected with the role's policy.
        const object = (prefix: string) => `arn:aws:s3:::shared-ckpt/${prefix}checkpoints/step-1`;
        assert.equal(await sessionAllows(policy, sessionOf("team-a"), "s3:PutObject", object("team-a/")), true);
        assert.equal(await sessionAllows(policy, sessionOf("team-a"), "s3:GetObject", object("team-b/")), false, "A does not reach B's prefix");
        assert.equal(await sessionAllows(policy, sessionOf("team-b"), "s3:GetObject", object("team-b/")), true);
        assert.equal(await sessionAllows(policy, sessionOf("team-b"), "s3:PutObject", object("team-a/")), false, "B does not reach A's prefix");
        assert.equal(await sessionAllows(policy, sessionOf("team-b"), "s3:GetObject", "arn:aws:s3:::datasets/x"), false, "B was not given the datasets");
        assert.equal(await sessionAllows(policy, sessionOf("team-a"), "s3:GetObject", "arn:aws:s3:::datasets/x"), true);
        assert.equal(await sessionAllows(policy, sessionOf("team-a"), "s3:PutObject", "arn:aws:s3:::datasets/x"), false, "and only to read");
        // Without the session policy the role reaches both: the isolation is the session policy's.
        assert.equal(await identityAllows(policy, "s3:GetObject", object("team-b/")), true);
    });

    it("with session tags off, the trust pins the account only: any association of the account gets in, another account does not", async () => {
        const { trust } = await build({ identity: "podIdentity", clusterName: "ray-blue", disableSessionTags: true });
        assert.equal(resourcesOfType(ASSOCIATION)[0].inputs.disableSessionTags, true);
        const untagged = (account = ACCOUNT) =>
            trustAllows(trust, "sts:AssumeRole", "pods.eks.amazonaws.com", { "aws:SourceAccount": account }).then(
                async (a) => a && (await trustAllows(trust, "sts:TagSession", "pods.eks.amazonaws.com", { "aws:SourceAccount": account })),
            );
        assert.equal(await untagged(), true);
        assert.equal(await untagged("444455556666"), false);
        assert.equal(
            await podIdentityAllows(trust, "ray-red", "anyone", "any-sa"),
            true,
            "the isolation that is lost: any cluster, namespace, service account of the account",
        );
    });

    it("refuses combinations that would widen access, before anything is created", () => {
        const refuse = (args: Partial<RayS3AccessArgs>, pattern: RegExp) =>
            assert.throws(() => new RayS3Access("bad", { ...shared, ...args } as RayS3AccessArgs), pattern);
        refuse(
            { sessionPolicies: [shared.sessionPolicies![0]] },
            /sessionPolicies has no entry for "team-b:ray-s3-sa": every service account of a "sessionPolicy" role needs its own buckets/,
        );
        refuse(
            { sessionPolicies: [...shared.sessionPolicies!, { serviceAccount: "team-c:x", buckets: [{ bucket: "datasets", access: "read" }] }] },
            /sessionPolicies\[2\].serviceAccount "team-c:x" is not a service account of this component/,
        );
        refuse(
            { sessionPolicies: [{ serviceAccount: "team-a:ray-s3-sa", buckets: [{ bucket: "datasets" }] }, shared.sessionPolicies![1]] },
            /sessionPolicies\[0\].buckets: it asks for readWrite on "datasets", which the role only reads/,
        );
        refuse(
            {
                sessionPolicies: [
                    { serviceAccount: "team-a:ray-s3-sa", buckets: [{ bucket: "shared-ckpt", prefixes: ["team-c/"] }] },
                    shared.sessionPolicies![1],
                ],
            },
            /prefixes \["team-c\/"\] of "shared-ckpt" are outside the role's/,
        );
        refuse({ disableSessionTags: false }, /roleSharing "sessionPolicy" needs session tags off/);
        refuse({ identity: "irsaAndPodIdentity", oidcProviderArn: BLUE }, /roleSharing "sessionPolicy" is only valid when identity is "podIdentity"/);
        refuse({ roleSharing: "perTenant" }, /sessionPolicies is only valid with roleSharing "sessionPolicy"/);
        const many = Array.from({ length: 40 }, (_, i) => `prefix-number-${i}/`);
        refuse(
            {
                buckets: [{ bucket: "shared-ckpt" }],
                sessionPolicies: [
                    { serviceAccount: "team-a:ray-s3-sa", buckets: [{ bucket: "shared-ckpt", prefixes: many }] },
                    { serviceAccount: "team-b:ray-s3-sa", buckets: [{ bucket: "shared-ckpt" }] },
                ],
            },
            /the session policy of team-a:ray-s3-sa would be \d+ characters, over EKS's limit of 2048/,
        );
        assert.throws(
            () => new RayS3Access("x", { namespace: "a", oidcProviderArn: BLUE, disableSessionTags: true, buckets: [{ bucket: "b-bucket" }] }),
            /disableSessionTags is only valid with Pod Identity/,
        );
        assert.throws(
            () =>
                new RayS3Access("x", {
                    namespace: "a",
                    identity: "podIdentity",
                    clusterName: "c",
                    roleSharing: "abac",
                    disableSessionTags: true,
                    buckets: [{ bucket: "b-bucket" }],
                }),
            /disableSessionTags cannot be combined with roleSharing "abac"/,
        );
        assert.equal(world.resources.length, 0);
    });
});
