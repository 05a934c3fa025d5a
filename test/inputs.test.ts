/**
 * Program authors pass what their program creates: a bucket's name (auto-named, so an Output), a KMS key's ARN, a
 * managed policy's ARN. The component must build the same documents and resources as for the literal values, and
 * check the resolved values with the same rules.
 */
import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BucketAccess, RayS3Access, RayS3AccessArgs } from "../components";
import { identityAllows } from "./support/iamOracle";
import { resetMocks, settle, useStack, valueOf, world } from "./support/mocks";

const ACCOUNT = "111122223333";
const PROVIDER_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123`;
const KEY = `arn:aws:kms:us-west-2:${ACCOUNT}:key/1111aaaa-2222-bbbb-3333-cccc4444dddd`;
const EXTRA_POLICY = `arn:aws:iam::${ACCOUNT}:policy/ray-cloudwatch`;
const DIRECTORY = "ckpt--usw2-az1--x-s3";
const DIRECTORY_ARN = `arn:aws:s3express:us-west-2:${ACCOUNT}:bucket/${DIRECTORY}`;
const ACCESS_POINT_ARN = `arn:aws:s3:us-west-2:${ACCOUNT}:accesspoint/team-a`;

/** What a program registered, as comparable text: every resource's type and inputs (names left out), sorted. */
interface Run {
    permissionsPolicy: string;
    trustPolicy: string;
    registered: string[];
    childNames: string[];
    /** The types of the children with a secret among their inputs. */
    secretTypes: string[];
}

/** The engine's mark on a secret value in a resource's inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Inputs as JSON with each secret replaced by its value; `found` learns whether there was one. */
function unwrapped(inputs: unknown, found: { secret: boolean }): string {
    return JSON.stringify(inputs, (_key, value) => {
        if (value && typeof value === "object" && SECRET_SIG in value) {
            found.secret = true;
            return value.value;
        }
        return value;
    });
}

/** Runs a program that builds one component and returns what it registered (the author's own resources left out). */
async function run(program: () => RayS3Access): Promise<Run> {
    resetMocks();
    useStack("dev");
    const access = program();
    // Rejects when a value resolves to one the rules refuse (valueOf would wait forever).
    const [permissionsPolicy, trustPolicy] = await Promise.all([(access.permissionsPolicy as any).promise(), (access.trustPolicy as any).promise()]);
    await settle();
    const own = new Set(["aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:iam/policy:Policy:extra", "aws:s3/directoryBucket:DirectoryBucket"]);
    const children = world.resources.filter((r) => !own.has(r.type) && !(r.type === "aws:iam/policy:Policy" && r.name === "extra"));
    const secretTypes: string[] = [];
    const registered = children.map((r) => {
        const found = { secret: false };
        const text = `${r.type} ${unwrapped(r.inputs, found)}`;
        if (found.secret) secretTypes.push(r.type);
        return text;
    });
    return { permissionsPolicy, trustPolicy, registered: registered.sort(), childNames: children.map((r) => r.name).sort(), secretTypes: secretTypes.sort() };
}

/**
 * What a program did: what it registered, or the problems it was refused for, when the component was built or when a
 * value resolved (the text after the component's name, without the note that an Output resolved).
 */
async function outcome(program: () => RayS3Access): Promise<Run | { refused: string[] }> {
    try {
        return await run(program);
    } catch (error) {
        resetMocks();
        const message = String((error as Error).message).replace(/^error serializing property "\w+": /, "");
        const body = message.includes("invalid arguments:\n- ")
            ? message.split("invalid arguments:\n- ")[1].split("\n- ")
            : [message.replace(/^RayS3Access "[^"]+": /, "")];
        return { refused: body.map((p) => p.replace(" (an Output that resolved at deployment)", "")).sort() };
    }
}

/** The same arguments with every value an author's program may compute given as an Output. */
function asOutputs(args: RayS3AccessArgs): RayS3AccessArgs {
    const entry = (b: BucketAccess): BucketAccess => ({
        ...b,
        bucket: pulumi.output(b.bucket),
        ...(b.kmsKeyArns ? { kmsKeyArns: b.kmsKeyArns.map((k) => pulumi.output(k)) } : {}),
        ...(b.accessPointName !== undefined ? { accessPointName: pulumi.output(b.accessPointName) } : {}),
        ...(b.expressCache !== undefined ? { expressCache: pulumi.output(b.expressCache) } : {}),
    });
    return {
        ...args,
        buckets: args.buckets.map(entry),
        ...(args.sessionPolicies ? { sessionPolicies: args.sessionPolicies.map((s) => ({ ...s, buckets: s.buckets.map(entry) })) } : {}),
        ...(args.additionalPolicyArns ? { additionalPolicyArns: args.additionalPolicyArns.map((a) => pulumi.output(a)) } : {}),
    };
}

/** How the component failed when a value resolved (the registration that used it fails with the same error). */
async function lateFailure(args: RayS3AccessArgs): Promise<string> {
    resetMocks();
    useStack("dev");
    const access = new RayS3Access("late", args);
    const error = await (access.permissionsPolicy as any).promise().then(
        () => undefined,
        (e: Error) => e,
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(error, "the component fails when the value resolves");
    assert.equal(
        world.resources.filter((r) => r.type === "aws:iam/policy:Policy").length,
        0,
        "no permissions policy is registered with a value that failed its rule",
    );
    resetMocks();
    return String(error.message);
}

describe("program authors: Outputs as bucket names, KMS keys, access point names and policy ARNs", () => {
    it("a bucket (auto-named) and a KMS key created by the same program: the policy names them, the evaluator allows the prefix only, and literals give byte-identical JSON", async () => {
        const fromOutputs = await run(() => {
            const bucket = new aws.s3.Bucket("ckpt");
            const key = new aws.kms.Key("ckpt-key", { description: "Ray checkpoints" });
            return new RayS3Access("ray", {
                namespace: "ray",
                oidcProviderArn: PROVIDER_ARN,
                buckets: [{ bucket: bucket.bucket, prefixes: ["team-a/"], kmsKeyArns: [key.arn] }],
            });
        });
        const bucketName = world.resources.find((r) => r.type === "aws:s3/bucket:Bucket")!.state.bucket as string;
        const keyArn = world.resources.find((r) => r.type === "aws:kms/key:Key")!.state.arn as string;
        assert.match(bucketName, /^ckpt-[0-9a-z]+$/, "the bucket got an auto-generated name");
        assert.match(fromOutputs.permissionsPolicy, new RegExp(`arn:aws:s3:::${bucketName}/team-a/\\*`));
        assert.ok(fromOutputs.permissionsPolicy.includes(keyArn), "the policy names the resolved key");
        assert.equal(await identityAllows(fromOutputs.permissionsPolicy, "s3:GetObject", `arn:aws:s3:::${bucketName}/team-a/x`), true);
        assert.equal(await identityAllows(fromOutputs.permissionsPolicy, "s3:PutObject", `arn:aws:s3:::${bucketName}/team-b/x`), false);
        assert.equal(await identityAllows(fromOutputs.permissionsPolicy, "s3:GetObject", `arn:aws:s3:::other-bucket/team-a/x`), false);
        assert.equal(await identityAllows(fromOutputs.permissionsPolicy, "kms:Decrypt", keyArn), true);
        assert.equal(await identityAllows(fromOutputs.permissionsPolicy, "kms:Decrypt", KEY), false);

        const fromLiterals = await run(
            () =>
                new RayS3Access("ray", {
                    namespace: "ray",
                    oidcProviderArn: PROVIDER_ARN,
                    buckets: [{ bucket: bucketName, prefixes: ["team-a/"], kmsKeyArns: [keyArn] }],
                }),
        );
        assert.equal(fromOutputs.permissionsPolicy, fromLiterals.permissionsPolicy, "byte-identical permissions policy");
        assert.equal(fromOutputs.trustPolicy, fromLiterals.trustPolicy);
        assert.deepEqual(fromOutputs.registered, fromLiterals.registered, "every child registered with the same inputs");
    });

    // Every identity mode x sharing mode x storage kind the component takes: the same arguments as literals and as
    // Outputs register the same children with the same inputs (only the children named after an Output's value are
    // named by its place in the list instead).
    const identities = [
        { identity: "irsa", oidcProviderArn: PROVIDER_ARN },
        { identity: "podIdentity", clusterName: "ray-prod" },
        { identity: "irsaAndPodIdentity", oidcProviderArn: PROVIDER_ARN, clusterName: "ray-prod" },
    ] as const;
    const storage: Record<string, Pick<RayS3AccessArgs, "buckets" | "mountpointVolumes" | "additionalPolicyArns">> = {
        "general purpose, prefixes, KMS key, extra policy": {
            buckets: [{ bucket: "ray-ckpt", prefixes: ["team-a/", "shared/"], kmsKeyArns: [KEY], access: "read" }, { bucket: "arn:aws:s3:::ray-data" }],
            additionalPolicyArns: [EXTRA_POLICY],
        },
        "directory bucket by name, and by ARN": { buckets: [{ bucket: DIRECTORY, access: "read" }, { bucket: DIRECTORY_ARN.replace("ckpt", "logs") }] },
        "directory bucket named by kind": { buckets: [{ bucket: DIRECTORY, kind: "directory" }] },
        "directory bucket with the component's access point": {
            buckets: [{ bucket: DIRECTORY, prefixes: ["team-a/"], createAccessPoint: true, accessPointName: "team-a--usw2-az1--xa-s3" }],
        },
        "directory bucket with a default-named access point": { buckets: [{ bucket: DIRECTORY, prefixes: ["team-a/"], createAccessPoint: true }] },
        "access point ARN": { buckets: [{ bucket: ACCESS_POINT_ARN, prefixes: ["ckpt/"] }] },
        "Mountpoint volumes with a shared cache and a directory bucket": {
            buckets: [
                { bucket: "ray-ckpt", access: "mountpoint", prefixes: ["a/"], expressCache: "cache--usw2-az1--x-s3" },
                { bucket: DIRECTORY, access: "mountpoint", allowDelete: true },
            ],
            mountpointVolumes: true,
        },
    };
    for (const id of identities) {
        const sharings = id.identity === "podIdentity" ? (["perTenant", "abac", "sessionPolicy"] as const) : (["perTenant"] as const);
        for (const roleSharing of sharings) {
            for (const [kind, parts] of Object.entries(storage)) {
                it(`${id.identity}, ${roleSharing}, ${kind}: the same documents and children, or the same refusal`, async () => {
                    const args: RayS3AccessArgs = {
                        namespace: "ray",
                        ...id,
                        ...parts,
                        roleSharing,
                        ...(roleSharing === "sessionPolicy" ? { sessionPolicies: [{ serviceAccount: "ray:ray-s3-sa", buckets: parts.buckets }] } : {}),
                    };
                    const literal = await outcome(() => new RayS3Access("ray", args));
                    const late = await outcome(() => new RayS3Access("ray", asOutputs(args)));
                    if ("refused" in literal) {
                        assert.ok("refused" in late, `refused for literals (${literal.refused.join("; ")}), so for Outputs too`);
                        assert.deepEqual(late.refused, literal.refused);
                        return;
                    }
                    assert.ok(!("refused" in late), `accepted for literals, so for Outputs too: ${"refused" in late ? late.refused.join("; ") : ""}`);
                    assert.equal(late.permissionsPolicy, literal.permissionsPolicy);
                    assert.equal(late.trustPolicy, literal.trustPolicy);
                    assert.deepEqual(late.registered, literal.registered);
                    assert.equal(late.childNames.length, literal.childNames.length);
                });
            }
        }
    }

    it("cross-account (assetsProvider): the assets role's policy is the same for Outputs as for literals", async () => {
        const args: RayS3AccessArgs = {
            namespace: "ray",
            clusterName: "ray-prod",
            identity: "podIdentity",
            buckets: [{ bucket: "assets-ckpt", prefixes: ["team-a/"], kmsKeyArns: [KEY.replace(ACCOUNT, "444455556666")] }],
        };
        const assets = () => new aws.Provider("assets", { region: "us-west-2" });
        const literal = await run(() => new RayS3Access("ray", { ...args, assetsProvider: assets() }));
        const late = await run(() => new RayS3Access("ray", { ...asOutputs(args), assetsProvider: assets() }));
        assert.deepEqual(late.registered, literal.registered);
        assert.ok(late.registered.some((r) => r.startsWith("aws:iam/policy:Policy") && r.includes("assets-ckpt/team-a/*")));
    });

    it("an access point alias that resolves is looked up among the account's access points, as a literal one is", async () => {
        const alias = "team-a-hrzrlukc5m36ft7okagglf3gmwluquse1b-s3alias";
        const args: RayS3AccessArgs = { namespace: "ray", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: alias, prefixes: ["ckpt/"] }] };
        const withAccessPoints = async (program: () => RayS3Access) => {
            resetMocks();
            useStack("dev");
            world.accessPoints = [{ alias, accessPointArn: ACCESS_POINT_ARN }];
            const access = program();
            const policy = await valueOf(access.permissionsPolicy);
            await settle();
            return policy;
        };
        const literal = await withAccessPoints(() => new RayS3Access("ray", args));
        const late = await withAccessPoints(() => new RayS3Access("ray", asOutputs(args)));
        assert.ok(literal.includes(`${ACCESS_POINT_ARN}/object/ckpt/*`));
        assert.equal(late, literal);
    });

    it("assetsExternalId from a secret config value: the profile and the assets role's trust carry it; a bad one is refused when it resolves", async () => {
        const args: RayS3AccessArgs = {
            namespace: "ray",
            oidcProviderArn: PROVIDER_ARN,
            buckets: [{ bucket: "assets-ckpt" }],
            assetsExternalId: "ray-chain-7f3a",
        };
        const assets = () => new aws.Provider("assets", { region: "us-west-2" });
        const literal = await run(() => new RayS3Access("ray", { ...args, assetsProvider: assets() }));
        const late = await run(() => new RayS3Access("ray", { ...args, assetsExternalId: pulumi.secret("ray-chain-7f3a"), assetsProvider: assets() }));
        // A secret stays secret in what carries it, and only there.
        assert.deepEqual(late.secretTypes, ["aws:iam/role:Role", "kubernetes:core/v1:ConfigMap"]);
        assert.deepEqual(literal.secretTypes, []);
        assert.deepEqual(late.registered, literal.registered);
        assert.ok(literal.registered.some((r) => r.startsWith("kubernetes:core/v1:ConfigMap") && r.includes("external_id = ray-chain-7f3a")));
        assert.ok(literal.registered.some((r) => r.startsWith("aws:iam/role:Role") && r.includes('\\"sts:ExternalId\\":\\"ray-chain-7f3a\\"')));
        resetMocks();
        useStack("dev");
        const bad = new RayS3Access("bad", { ...args, assetsExternalId: pulumi.output("x"), assetsProvider: assets() });
        assert.ok(bad.roleArn, "built: the external id is only known at deployment");
        await new Promise((r) => setTimeout(r, 50));
        const configMaps = world.resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap");
        assert.equal(configMaps.length, 0, "no profile is registered with an external id IAM refuses");
        const assetsRoles = world.resources.filter((r) => r.type === "aws:iam/role:Role" && r.name === "bad-assets-role");
        assert.equal(assetsRoles.length, 0, "no assets role trusts it either");
        resetMocks();
    });

    it("the storage kind comes from the resolved name or ARN when kind is not given", async () => {
        const byName = await run(
            () => new RayS3Access("ray", { namespace: "ray", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: pulumi.output(DIRECTORY) }] }),
        );
        assert.match(byName.permissionsPolicy, /s3express:CreateSession/);
        assert.match(byName.permissionsPolicy, new RegExp(`arn:aws:s3express:us-west-2:${ACCOUNT}:bucket/${DIRECTORY}`));
        assert.doesNotMatch(byName.permissionsPolicy, /"s3:GetObject"/);
        const general = await run(
            () => new RayS3Access("ray", { namespace: "ray", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: pulumi.output("ray-ckpt") }] }),
        );
        assert.doesNotMatch(general.permissionsPolicy, /s3express/);
    });

    it("the partition is the stack's: a resolved ARN in the stack's partition is used as given, one in another is refused", async () => {
        resetMocks();
        useStack("dev");
        world.partition = "aws-cn";
        world.region = "cn-north-1";
        const access = new RayS3Access("ray", { namespace: "ray", clusterName: "ray-cn", buckets: [{ bucket: pulumi.output("arn:aws-cn:s3:::ray-cn-ckpt") }] });
        assert.match(await valueOf(access.permissionsPolicy), /"arn:aws-cn:s3:::ray-cn-ckpt"/);
        await settle();
        const alone = await lateFailure({
            namespace: "ray",
            identity: "podIdentity",
            clusterName: "ray",
            buckets: [{ bucket: pulumi.output("arn:aws-us-gov:s3:::ckpt") }],
        });
        assert.match(alone, /buckets\[0\]\.bucket "arn:aws-us-gov:s3:::ckpt" is in partition "aws-us-gov" but the stack's AWS provider is in "aws"/);
        const withPlain = await lateFailure({
            namespace: "ray",
            oidcProviderArn: PROVIDER_ARN,
            buckets: [{ bucket: pulumi.output("arn:aws-us-gov:s3:::ckpt") }],
        });
        assert.match(withPlain, /buckets\[0\]\.bucket "arn:aws-us-gov:s3:::ckpt" is in partition "aws-us-gov" but oidcProviderArn is in "aws"/);
    });

    it("a value that resolves badly fails with the rule's own message, and no policy is registered with it", async () => {
        const base = { namespace: "ray", oidcProviderArn: PROVIDER_ARN };
        const cases: [RayS3AccessArgs, RegExp][] = [
            [
                { ...base, buckets: [{ bucket: pulumi.output("Ray_Ckpt") }] },
                /buckets\[0\]\.bucket "Ray_Ckpt" is not a valid S3 bucket name.*\(an Output that resolved at deployment\)/,
            ],
            [{ ...base, buckets: [{ bucket: "ray-ckpt", kmsKeyArns: [pulumi.output("alias/ray")] }] }, /kmsKeyArns\[0\] "alias\/ray" is not a KMS key ARN/],
            [
                { ...base, buckets: [{ bucket: pulumi.output(42 as unknown as string) }] },
                /buckets\[0\]\.bucket must be a string \(or an Output of one\), not a number \(42\) \(an Output that resolved at deployment\)/,
            ],
            [
                { ...base, buckets: [{ bucket: pulumi.output(DIRECTORY), prefixes: ["team-a/"] }] },
                /"ckpt--usw2-az1--x-s3" is a directory bucket .* Add createAccessPoint: true/,
            ],
            [
                { ...base, buckets: [{ bucket: pulumi.output("ray-ckpt"), prefixes: ["a/"], createAccessPoint: true }] },
                /buckets\[0\]\.createAccessPoint is only for directory buckets/,
            ],
            [
                { ...base, buckets: [{ bucket: pulumi.output("ray-ckpt") }, { bucket: pulumi.output("ray-ckpt") }] },
                /buckets\[1\]\.bucket "ray-ckpt" repeats buckets\[0\]/,
            ],
            [
                {
                    ...base,
                    buckets: [{ bucket: DIRECTORY, prefixes: ["a/"], createAccessPoint: true, accessPointName: pulumi.output("team-a--use1-az4--xa-s3") }],
                },
                /accessPointName "team-a--use1-az4--xa-s3" is not an access point name in the bucket's zone: expected BASE--usw2-az1--xa-s3/,
            ],
            [
                { ...base, buckets: [{ bucket: "ray-ckpt" }], additionalPolicyArns: [pulumi.output("ray-cloudwatch")] },
                /additionalPolicyArns\[0\] "ray-cloudwatch" is not a managed policy ARN/,
            ],
            [
                { ...base, buckets: [{ bucket: "ray-ckpt", access: "mountpoint", expressCache: pulumi.output("ray-cache") }] },
                /expressCache.*"ray-cache" is not a directory bucket name/,
            ],
        ];
        for (const [args, rule] of cases) assert.match(await lateFailure(args), rule);
    });

    it("a directory bucket's zone outside the stack's region is refused when its name resolves", async () => {
        const message = await lateFailure({ namespace: "ray", oidcProviderArn: PROVIDER_ARN, buckets: [{ bucket: pulumi.output("ckpt--use1-az4--x-s3") }] });
        assert.match(message, /"ckpt--use1-az4--x-s3" is in zone use1-az4, but the stack's AWS provider is in us-west-2/);
    });

    it("what plain values decide is still refused before anything is registered, every problem at once, naming the Output", () => {
        resetMocks();
        const shared = pulumi.output("ray-ckpt");
        assert.throws(
            () =>
                new RayS3Access("early", {
                    namespace: "ray",
                    oidcProviderArn: PROVIDER_ARN,
                    buckets: [
                        { bucket: shared, access: "wrte" as "read" },
                        { bucket: shared },
                        { bucket: pulumi.output("x"), kind: "generalPurpose", createAccessPoint: true, prefixes: ["a/"] },
                        { bucket: pulumi.output("y"), access: "read", expressCache: pulumi.output("cache--usw2-az1--x-s3") },
                    ],
                }),
            (error: Error) => {
                assert.match(error.message, /buckets\[0\]\.access "wrte" is not one of/);
                assert.match(error.message, /buckets\[1\]\.bucket \(an Output\) repeats buckets\[0\]/);
                assert.match(error.message, /buckets\[2\]\.createAccessPoint is only for directory buckets/);
                assert.match(error.message, /buckets\[3\]\.expressCache is Mountpoint's shared cache .* only valid with access "mountpoint"/);
                assert.doesNotMatch(error.message, /ray-s3-access-output/, "no stand-in reaches a message");
                return true;
            },
        );
        assert.equal(world.resources.length, 0, "nothing registered");
        // What decides which children exist must be plain.
        assert.throws(
            () =>
                new RayS3Access("plain", {
                    namespace: "ray",
                    oidcProviderArn: PROVIDER_ARN,
                    buckets: [{ bucket: "ray-ckpt", prefixes: [pulumi.output("a/") as unknown as string], access: pulumi.output("read") as unknown as "read" }],
                    additionalServiceAccounts: [pulumi.output("ray:worker") as unknown as string],
                }),
            (error: Error) => {
                for (const field of ["buckets\\[0\\]\\.prefixes\\[0\\]", "buckets\\[0\\]\\.access", "additionalServiceAccounts\\[0\\]"]) {
                    assert.match(
                        error.message,
                        new RegExp(`${field} is an Output, and it must be a plain value: it decides which resources the component creates`),
                    );
                }
                return true;
            },
        );
        // A wrong type is reported first, as for plain values (the other rules assume the types).
        assert.throws(
            () =>
                new RayS3Access("typed", {
                    namespace: "ray",
                    oidcProviderArn: PROVIDER_ARN,
                    buckets: [{ bucket: pulumi.output("z"), kmsKeyArns: [42 as unknown as string] }],
                }),
            /buckets\[0\]\.kmsKeyArns\[0\] must be a string \(or an Output of one\), not a number \(42\)/,
        );
    });
});
