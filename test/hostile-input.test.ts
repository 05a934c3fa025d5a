/**
 * Hostile and careless input to the component and the stack config: typos that would widen access, wrong types,
 * names AWS, EKS or Kubernetes refuse, Outputs that resolve to bad values, conflicts between tenants. Each is
 * refused before anything is registered (or, for an Output, before the resource that would use it), with a
 * RayS3AccessValidationError or a StackConfigError naming the field.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import { RayS3Access, RayS3AccessArgs } from "../components";
import { parseStackConfig } from "../programs/config";
import { validateStackConfig } from "../programs/stackConfig";
import { resetMocks, useStack, world } from "./support/mocks";

const PROVIDER_ARN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123";
const base: RayS3AccessArgs = { namespace: "ray", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: "ckpt-bucket" }] };

/** Construction throws RayS3AccessValidationError before anything is registered; returns the message. */
function refused(args: unknown, ...patterns: RegExp[]): string {
    resetMocks();
    let caught: unknown;
    try {
        new RayS3Access("hostile", args as RayS3AccessArgs);
    } catch (error) {
        caught = error;
    }
    assert.ok(caught instanceof Error, `accepted: ${JSON.stringify(args)}`);
    assert.equal(caught.name, "RayS3AccessValidationError", `threw ${caught.name}: ${caught.message}`);
    for (const pattern of patterns) assert.match(caught.message, pattern);
    assert.equal(world.resources.length, 0, "nothing is registered");
    return caught.message;
}

describe("hostile input to RayS3Access", () => {
    beforeEach(() => useStack("prod"));
    after(() => resetMocks());

    it("a mistyped key never widens access: unknown keys are refused with the nearest valid one", () => {
        refused({ ...base, buckets: [{ bucket: "ckpt", prefix: ["team-a/"] }] }, /buckets\[0\] has an unknown key "prefix" \(did you mean "prefixes"\?\)/);
        refused({ ...base, buckets: [{ bucket: "ckpt", acces: "read" }] }, /buckets\[0\] has an unknown key "acces" \(did you mean "access"\?\)/);
        refused({ ...base, namepsace: "ray" }, /unknown argument "namepsace" \(did you mean "namespace"\?\)/);
        refused({ ...base, serviceAccount: "x" }, /unknown argument "serviceAccount" \(did you mean "serviceAccountName"\?\)/);
    });

    it("every problem at once: unknown keys are reported with the others in one error, not instead of them", () => {
        const message = refused(
            { namepsace: "ray", buckets: [{ bucket: "Bad_Bucket", prefx: ["a/"] }], maxSessionDuration: 100 },
            /unknown argument "namepsace" \(did you mean "namespace"\?\)/,
            /buckets\[0\] has an unknown key "prefx"/,
            /namespace is required/,
            /buckets\[0\]\.bucket "Bad_Bucket"/,
            /maxSessionDuration/,
        );
        assert.ok(message.split("\n").length >= 5, message);
        // A wrong type still comes first, with the shape's other problems: the later checks assume the types.
        refused({ ...base, namepsace: "ray", maxSessionDuration: "long" }, /unknown argument "namepsace"/, /maxSessionDuration/);
    });

    it("wrong types and holes are refused, never a TypeError", () => {
        refused(
            { ...base, buckets: [{ bucket: "ckpt", kmsKeyArns: "arn:aws:kms:us-west-2:111122223333:key/abc" }] },
            /buckets\[0\]\.kmsKeyArns must be a list/,
        );
        refused({ ...base, additionalPolicyArns: "arn:aws:iam::aws:policy/ReadOnlyAccess" }, /additionalPolicyArns must be a list, .* it is a string/);
        refused({ ...base, buckets: [, { bucket: "ckpt" }] }, /buckets has a hole at index 0/);
        refused({ ...base, additionalServiceAccounts: ["a:b", , "c:d"] }, /additionalServiceAccounts has a hole at index 1/);
        refused({ ...base, oidcProviderArn: {} }, /oidcProviderArn must be a string \(or an Output of one\), not an object/);
        refused({ ...base, assetsProvider: {} }, /assetsProvider must be an aws.Provider/);
        refused({ ...base, namespace: 5 }, /namespace must be a string \(or an Output of one\), not a number \(5\)/);
        refused({ ...base, namespace: { a: 1 } }, /namespace must be a string .*not an object/);
        refused({ ...base, namespace: null }, /namespace must be a string \(or an Output of one\), not null/);
        refused({ ...base, tags: ["a"] }, /tags must be a map of tag names to strings/);
        refused({ ...base, tags: { team: 5 } }, /tags\["team"\] must be a string, not a number \(5\)/);
        refused({ ...base, createOidcProvider: "yes" }, /createOidcProvider must be true or false/);
        refused({ ...base, maxSessionDuration: "3600" }, /maxSessionDuration must be a number/);
        refused("namespace=ray", /the arguments must be an object/);
    });

    it("names and quotas AWS refuses are refused with the rule", () => {
        refused({ ...base, roleName: "r".repeat(65) }, /roleName "r+" is not a valid IAM role name: 1 to 64 .*it is 65 characters/);
        refused({ ...base, roleName: "ray role" }, /roleName "ray role" is not a valid IAM role name/);
        refused({ ...base, roleName: "team/ray" }, /no "\/": put a path in rolePath/);
        refused({ ...base, rolePath: "ray" }, /rolePath "ray" is not a valid IAM path: "\/" or "\/a\/b\/"/);
        refused({ ...base, tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) }, /tags has 51 tags: IAM and EKS take at most 50/);
        refused({ ...base, tags: { "aws:team": "x" } }, /tags key "aws:team" starts with "aws:"/);
        refused({ ...base, tags: { ["k".repeat(129)]: "x" } }, /is not a valid tag key: 1 to 128 .*it is 129 characters/);
        // A template that renders an empty list must not grant the whole bucket in silence; a prefix twice is a copy mistake.
        refused({ ...base, buckets: [{ bucket: "ckpt", prefixes: [] }] }, /buckets\[0\]\.prefixes is an empty list, which grants the whole bucket/);
        refused({ ...base, buckets: [{ bucket: "ckpt", prefixes: ["a/", "b/", "a/"] }] }, /buckets\[0\]\.prefixes\[2\] "a\/" repeats prefixes\[0\]/);
        refused(
            { ...base, buckets: [{ bucket: "ckpt", prefixes: [""] }] },
            /buckets\[0\]\.prefixes\[0\] is empty: give a key prefix, or drop prefixes for the whole bucket/,
        );
        for (const [bucket, rule] of [
            ["xn--ckpt", /starts with "xn--", which S3 reserves/],
            ["sthree-ckpt", /starts with "sthree-"/],
            ["amzn-s3-demo-ckpt", /starts with "amzn-s3-demo-"/],
            ["ckpt-s3alias", /ends with "-s3alias" but is not an access point alias \(NAME-RANDOM-s3alias/],
            ["ckpt--ol-s3", /ends with "--ol-s3"/],
            ["ckpt.mrap", /ends with ".mrap"/],
        ] as const) {
            refused({ ...base, buckets: [{ bucket }] }, rule);
        }
        refused({ ...base, trustPolicyMaxLength: 10000 }, /trustPolicyMaxLength 10000 is above 8192/);
        refused(
            { identity: "podIdentity", clusterName: "ray prod!", namespace: "ray", buckets: [{ bucket: "ckpt-bucket" }] },
            /clusterName "ray prod!" is not a valid EKS cluster name/,
        );
        refused({ ...base, assetsProvider: new aws.Provider("assets", {}), assetsExternalId: "x" }, /assetsExternalId "x" is not a valid external id/);
        refused({ ...base, additionalServiceAccounts: ["a:b", "a:b"] }, /additionalServiceAccounts\[1\] "a:b" repeats additionalServiceAccounts\[0\]/);
    });

    it("an Output that resolves to a bad value fails with the same message, and no role is registered with it", async () => {
        resetMocks();
        useStack("prod");
        const access = new RayS3Access("late", { ...base, namespace: pulumi.output("Bad_NS") });
        await assert.rejects(
            (access.trustPolicy as any).promise(),
            /namespace "Bad_NS" is not a valid Kubernetes namespace name.*an Output that resolved at deployment/,
        );
        await new Promise((r) => setTimeout(r, 50));
        const roles = world.resources.filter((r) => r.type === "aws:iam/role:Role");
        assert.ok(
            roles.every((r) => !String(r.inputs.assumeRolePolicy ?? "").includes("Bad_NS")),
            "the bad namespace never reaches a document",
        );
        resetMocks();
        useStack("prod");
        const badArn = new RayS3Access("late-arn", { ...base, oidcProviderArn: pulumi.output("not-an-arn") });
        await assert.rejects((badArn.trustPolicy as any).promise(), /oidcProviderArn "not-an-arn" is not an IAM OIDC provider ARN/);
        resetMocks();
        useStack("prod");
        const badType = new RayS3Access("late-type", { ...base, serviceAccountName: pulumi.output(42 as unknown as string) });
        await assert.rejects((badType.trustPolicy as any).promise(), /serviceAccountName resolved to a number \(42\): it must be a string/);
        resetMocks();
    });

    it("every refusal is a pulumi.RunError, which the Pulumi CLI prints without a stack trace, also when decided while the program runs", async () => {
        resetMocks();
        useStack("prod");
        const late = new RayS3Access("late", { ...base, namespace: pulumi.output("Bad_NS") });
        const resolved = await (late.trustPolicy as any).promise().catch((error: unknown) => error);
        assert.ok(pulumi.RunError.isInstance(resolved), String(resolved));
        resetMocks();
        const atOnce = (() => {
            try {
                new RayS3Access("bad", { ...base, namespace: "Bad_NS" });
            } catch (error) {
                return error;
            }
            return undefined;
        })();
        assert.ok(pulumi.RunError.isInstance(atOnce), String(atOnce));
        const config = (() => {
            try {
                parseStackConfig("prod", { tenants: "[]" });
            } catch (error) {
                return error;
            }
            return undefined;
        })();
        assert.ok(pulumi.RunError.isInstance(config), String(config));
        resetMocks();
    });
});

describe("hostile stack config", () => {
    const tenants = (list: unknown[]) => JSON.stringify(list);

    function configProblems(raw: Record<string, unknown>): string {
        try {
            parseStackConfig("prod", raw);
        } catch (error) {
            assert.equal((error as Error).name, "StackConfigError");
            return (error as Error).message;
        }
        assert.fail("accepted");
    }

    it("ray-s3-access:tenant and :tenants together are refused: neither list is dropped", () => {
        const message = configProblems({
            oidcProviderArn: PROVIDER_ARN,
            tenant: JSON.stringify({ namespace: "a", buckets: [{ bucket: "a-data" }] }),
            tenants: tenants([
                { namespace: "b", buckets: [{ bucket: "b-data" }] },
                { namespace: "c", buckets: [{ bucket: "c-data" }] },
            ]),
        });
        assert.match(message, /ray-s3-access:tenant and ray-s3-access:tenants are both set/);
    });

    it("valid input stays valid: a cluster named with quoted digits stays that string, a number keeps being a number", () => {
        const parsed = parseStackConfig("dev", {
            identity: "podIdentity",
            clusterName: "0123",
            trustPolicyMaxLength: "4096",
            tenants: tenants([{ namespace: "a", buckets: [{ bucket: "a-data" }] }]),
        });
        assert.equal(parsed.clusterName, "0123");
        assert.equal(parsed.trustPolicyMaxLength, 4096);
    });

    it("two tenants whose PersistentVolumes or access points would share a name are refused, naming both", () => {
        const volumes = configProblems({
            oidcProviderArn: PROVIDER_ARN,
            mountpointVolumes: true,
            tenants: tenants([
                { namespace: "a", buckets: [{ bucket: "s3-b", access: "mountpoint" }] },
                { namespace: "a-s3", buckets: [{ bucket: "b", access: "mountpoint" }] },
            ]),
        });
        assert.match(volumes, /tenant 1 \("a-s3"\) field buckets\[0\]: "a-s3-s3-b" is also tenant 0 \("a"\)'s: PersistentVolume names are unique in a cluster/);
        const accessPoints = configProblems({
            identity: "podIdentity",
            clusterName: "ml",
            tenants: tenants(
                ["a", "b"].map((namespace) => ({
                    namespace,
                    buckets: [
                        { bucket: "ckpt--usw2-az1--x-s3", prefixes: [`${namespace}/`], createAccessPoint: true, accessPointName: "teams--usw2-az1--xa-s3" },
                    ],
                })),
            ),
        });
        assert.match(accessPoints, /tenant 1 \("b"\) field buckets\[0\]\.accessPointName: "teams--usw2-az1--xa-s3" is also tenant 0 \("a"\)'s/);
    });

    it("one service account claimed by two tenants, or one role name twice, names both tenants", () => {
        const shared = configProblems({
            oidcProviderArn: PROVIDER_ARN,
            tenants: tenants([
                { namespace: "a", buckets: [{ bucket: "a-data" }] },
                { namespace: "b", buckets: [{ bucket: "b-data" }], additionalServiceAccounts: ["a:ray-s3-sa"] },
            ]),
        });
        assert.match(shared, /tenant 1 \("b"\): service account "a:ray-s3-sa" is also tenant 0 \("a"\)'s: a service account gets one role/);
        const podIdentity = configProblems({
            identity: "podIdentity",
            clusterName: "ray-prod",
            tenants: tenants([
                { namespace: "a", buckets: [{ bucket: "a-data" }], additionalServiceAccounts: ["x:runner"] },
                { namespace: "b", buckets: [{ bucket: "b-data" }], additionalServiceAccounts: ["x:runner"] },
            ]),
        });
        assert.match(podIdentity, /tenant 1 \("b"\): service account "x:runner" is also tenant 0 \("a"\)'s/);
        const roles = configProblems({
            oidcProviderArn: PROVIDER_ARN,
            tenants: tenants([
                { namespace: "a", buckets: [{ bucket: "a-data" }], roleName: "ray" },
                { namespace: "b", buckets: [{ bucket: "b-data" }], roleName: "ray" },
            ]),
        });
        assert.match(roles, /tenant 1 \("b"\) field roleName: "ray" is also tenant 0 \("a"\)'s/);
    });

    it("a document over quota is reported for its tenant before anything is registered, with every other problem", () => {
        const many = Array.from({ length: 40 }, (_, i) => `team-${i}:ray-worker`);
        const message = configProblems({
            oidcProviderArn: PROVIDER_ARN,
            tenants: tenants([
                { namespace: "a", buckets: [{ bucket: "a-data" }] },
                { namespace: "b", buckets: [{ bucket: "b-data" }], additionalServiceAccounts: many },
                { namespace: "c", buckets: [{ bucket: "C_bad" }] },
            ]),
        });
        assert.match(message, /tenant 1 \("b"\): the trust policy would be \d+ characters .* over the IAM quota of 2048/);
        assert.match(message, /tenant 2 \("c"\): buckets\[0\]\.bucket "C_bad" is not a valid S3 bucket name/);
    });
});

describe("input the platform refuses, refused before anything runs", () => {
    beforeEach(() => useStack("prod"));
    after(() => resetMocks());

    it("an additional cluster's OIDC provider in another account: a role trusts its own account's providers only", () => {
        refused(
            { ...base, additionalClusters: [{ oidcProviderArn: "arn:aws:iam::444455556666:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/GREEN" }] },
            /additionalClusters\[0\]\.oidcProviderArn "arn:aws:iam::444455556666:.*" is in account 444455556666, the role's other providers in 111122223333: a role trusts OIDC providers of its own account only/,
        );
    });

    it("issuer URLs with a query, fragment or port, and policy variables, wildcards or characters IAM refuses in free text", () => {
        const irsa = { namespace: "ray", buckets: [{ bucket: "ckpt-bucket" }] };
        refused({ ...irsa, oidcIssuerUrl: "https://oidc.eks.us-west-2.amazonaws.com/id/ABC?x=1" }, /oidcIssuerUrl .* has no query, fragment or port/);
        refused({ ...irsa, oidcIssuerUrl: "https://oidc.eks.us-west-2.amazonaws.com:8443/id/ABC" }, /oidcIssuerUrl .* has no query, fragment or port/);
        refused(
            { ...base, webIdentityToken: { audience: "${oidc.eks.us-west-2.amazonaws.com/id/ABC123:aud}" } },
            /webIdentityToken\.audience .* contains a policy variable/,
        );
        refused(
            { ...base, buckets: [{ bucket: "ckpt-bucket", prefixes: ["team\u2028a/"] }] },
            /buckets\[0\]\.prefixes\[0\] [^]* contains U\+2028, which IAM refuses/,
        );
        refused({ ...base, oidcProviderArn: "arn:aws:iam::111122223333:oidc-provider/${aws:username}" }, /oidcProviderArn .* contains a policy variable/);
    });

    it("a shared-cache ARN in aws-cn keeps its partition: the documents are written in aws-cn, never rewritten into aws", async () => {
        resetMocks();
        const component = new RayS3Access("cn", {
            identity: "podIdentity",
            clusterName: "ml",
            namespace: "ray",
            buckets: [
                { bucket: "ckpt-bucket", access: "mountpoint", expressCache: "arn:aws-cn:s3express:cn-north-1:111122223333:bucket/cache--cnn1-az1--x-s3" },
            ],
        });
        const policy = await (component.permissionsPolicy as any).promise();
        assert.match(policy, /arn:aws-cn:s3express:cn-north-1:111122223333:bucket\/cache--cnn1-az1--x-s3/);
        assert.doesNotMatch(policy, /arn:aws:/);
        refused(
            {
                ...base,
                buckets: [
                    { bucket: "ckpt-bucket", access: "mountpoint", expressCache: "arn:aws-cn:s3express:cn-north-1:111122223333:bucket/cache--cnn1-az1--x-s3" },
                ],
            },
            /buckets\[0\]\.expressCache "arn:aws-cn:.*" is in partition "aws-cn" but oidcProviderArn is in "aws"/,
        );
    });

    it("stack config: ARNs and cluster regions of another partition than the stack's aws:region, each named once", () => {
        const problems = (raw: Record<string, unknown>, region: string) => {
            try {
                validateStackConfig("prod", raw, region);
            } catch (error) {
                return (error as Error).message;
            }
            return "";
        };
        const tenants = JSON.stringify([
            { namespace: "a", buckets: [{ bucket: "arn:aws-cn:s3:::cn-data" }] },
            { namespace: "b", buckets: [{ bucket: "ckpt" }], additionalClusters: [{ clusterName: "beijing", region: "cn-north-1" }] },
        ]);
        const message = problems({ identity: "podIdentity", clusterName: "ml", tenants }, "us-west-2");
        assert.match(
            message,
            /tenant 0 \("a"\) field buckets\[0\]\.bucket: "arn:aws-cn:s3:::cn-data" is in partition "aws-cn", the stack's aws:region us-west-2 in "aws"/,
        );
        assert.match(message, /tenant 1 \("b"\) field additionalClusters\[0\]\.region: cn-north-1 is in partition "aws-cn"/);
        const inChina = problems(
            {
                oidcProviderArn: PROVIDER_ARN,
                tenants: JSON.stringify([
                    { namespace: "a", buckets: [{ bucket: "x-1" }] },
                    { namespace: "b", buckets: [{ bucket: "x-1" }] },
                ]),
            },
            "cn-north-1",
        );
        assert.equal(inChina.match(/ray-s3-access:oidcProviderArn: "arn:aws:iam::/g)?.length, 1, inChina);
        assert.equal(problems({ oidcProviderArn: PROVIDER_ARN, tenants: JSON.stringify([{ namespace: "a", buckets: [{ bucket: "x-1" }] }]) }, "us-west-2"), "");
    });

    it("children whose names collide once normalised: service accounts, associations, Mountpoint volumes, policy attachments", () => {
        const pod = { identity: "podIdentity" as const, clusterName: "ml", namespace: "ray", buckets: [{ bucket: "ckpt-bucket" }] };
        refused(
            { ...pod, additionalServiceAccounts: ["a-b:c", "a:b-c"] },
            /additionalServiceAccounts\[1\] "a:b-c" and additionalServiceAccounts\[0\] "a-b:c" both give the ServiceAccount child name suffix "-a-b-c"/,
        );
        refused(
            { ...pod, additionalServiceAccounts: ["team:a", "team-a:b"], additionalClusters: [{ clusterName: "b" }] },
            /both give the Pod Identity association child name suffix "-team-a-b"/,
        );
        refused(
            { ...pod, mountpointVolumes: true, buckets: [{ bucket: "ckpt-bucket", access: "mountpoint", prefixes: ["Team_A/", "team-a/"] }] },
            /buckets\[0\] "ckpt-bucket" prefix "team-a\/" and buckets\[0\] "ckpt-bucket" prefix "Team_A\/" both give the Mountpoint volume \(PersistentVolumeClaim\) "s3-ckpt-bucket-team-a"/,
        );
        refused(
            { ...base, additionalPolicyArns: ["arn:aws:iam::111122223333:policy/ml/read", "arn:aws:iam::111122223333:policy/ml-read"] },
            /both give the policy attachment child name "ml-read"/,
        );
    });
});
