/**
 * Property (fast-check): every argument object, however careless or hostile, is either accepted, and then the
 * component's documents pass the whole policy pack in a production stack, or refused with a
 * RayS3AccessValidationError naming a field. Never another exception. The seed is printed; rerun one with
 * FC_SEED=N.
 */
import { strict as assert } from "assert";
import * as fc from "fast-check";
import { RayS3AccessArgs } from "../components";
import { checkBeforeRegistration, RayS3Access } from "../components/rayS3Access";
import { asPolicyResources, roleDocuments } from "../automation/offline";
import { evaluatePolicies } from "../automation/evaluatePolicies";
import { evaluateProgram } from "../automation/mockEngine";
import { policies } from "../policies/rules";
import { resetMocks } from "./support/mocks";

const RUNS = Number(process.env.FC_RUNS ?? 3000);
const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
/** How many accepted cases go through the engine and the pack (each is its own evaluation; spread evenly). */
const PACK_CASES = Number(process.env.FC_PACK_CASES ?? 400);

const PROVIDER_ARN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC123";

/** Either a value from the domain or something careless: another type, an empty or odd string. */
const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer(), fc.boolean(), fc.constant({}), fc.constant([]), fc.string({ maxLength: 8 }));
const maybe = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: junk });

const name = fc.constantFrom("ray", "team-a", "kubeflow-alice", "Bad_NS", "", "a".repeat(64), "x.y", "ray-worker");
const bucketName = fc.constantFrom("ckpt-bucket", "datasets", "arn:aws:s3:::ckpt-bucket", "s3://x/y", "UPPER", "xn--x", "b-s3alias", "ab", "a..b", "10.0.0.1");
const prefix = fc.constantFrom("checkpoints/", "users/alice/", "", "/abs", "wild*", "${aws:username}/", "a/b/c/");
const kmsArn = fc.constantFrom("arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab", "alias/x", "arn:aws-cn:kms:cn-north-1:111122223333:key/x");
const bucketEntry = fc.record(
    {
        bucket: maybe(bucketName),
        access: maybe(fc.constantFrom("read", "readWrite", "write", "READ")),
        prefixes: maybe(fc.array(maybe(prefix), { maxLength: 3 })),
        kmsKeyArns: maybe(fc.array(maybe(kmsArn), { maxLength: 2 })),
        prefix: fc.constant(["typo/"]),
    },
    { requiredKeys: [] },
);
const argsArbitrary = fc.record(
    {
        identity: maybe(fc.constantFrom("irsa", "podIdentity", "IRSA")),
        clusterName: maybe(fc.constantFrom("ray-prod", "ray prod", "c".repeat(101))),
        oidcProviderArn: maybe(fc.constantFrom(PROVIDER_ARN, "not-an-arn", "arn:aws-cn:iam::111122223333:oidc-provider/x")),
        oidcIssuerUrl: maybe(fc.constantFrom("https://oidc.eks.us-west-2.amazonaws.com/id/ABC", "http://x")),
        createOidcProvider: maybe(fc.boolean()),
        namespace: maybe(name),
        serviceAccountName: maybe(name),
        manageServiceAccount: maybe(fc.constantFrom("create", "patch", "none", "delete")),
        buckets: maybe(fc.array(maybe(bucketEntry), { maxLength: 3 })),
        additionalServiceAccounts: maybe(fc.array(maybe(fc.constantFrom("a:b", "team-b:ray-worker", "nocolon", "A:b", "a:b:c")), { maxLength: 3 })),
        roleName: maybe(fc.constantFrom("ray-role", "ray role", "r".repeat(65), "a/b")),
        rolePath: maybe(fc.constantFrom("/", "/ray/", "ray", "/a b/")),
        permissionsBoundaryArn: maybe(fc.constantFrom("arn:aws:iam::111122223333:policy/boundary", "boundary")),
        maxSessionDuration: maybe(fc.constantFrom(3600, 43200, 1, 3600.5)),
        tags: maybe(fc.dictionary(fc.constantFrom("team", "aws:x", "env", "k".repeat(129)), maybe(fc.constantFrom("ml", "v".repeat(300))), { maxKeys: 3 })),
        additionalPolicyArns: maybe(fc.array(maybe(fc.constantFrom("arn:aws:iam::aws:policy/ReadOnlyAccess", "ReadOnlyAccess")), { maxLength: 2 })),
        roleSharing: maybe(fc.constantFrom("perTenant", "abac", "packed")),
        trustPolicyMaxLength: maybe(fc.constantFrom(2048, 4096, 8192, 10000, 0)),
        acces: fc.constant("read"),
    },
    { requiredKeys: [] },
);

/** Arguments a careful user would write: IRSA with a provider, or Pod Identity with a cluster. */
const validBucket = fc.record(
    {
        bucket: fc.constantFrom("ckpt-bucket", "datasets", "arn:aws:s3:::logs-bucket", "team-a.data"),
        access: fc.constantFrom("read", "readWrite"),
        prefixes: fc.uniqueArray(fc.constantFrom("checkpoints/", "users/alice/", "a/b/"), { maxLength: 2 }),
        kmsKeyArns: fc.constant(["arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab"]),
    },
    { requiredKeys: ["bucket"] },
);
const validBuckets = fc.uniqueArray(validBucket, { minLength: 1, maxLength: 3, selector: (b) => b.bucket.replace(/^arn:aws:s3:::/, "") });
const optional = {
    serviceAccountName: fc.constantFrom("ray-worker", "default-editor"),
    manageServiceAccount: fc.constantFrom("create", "patch", "none"),
    additionalServiceAccounts: fc.uniqueArray(fc.constantFrom("team-b:ray-worker", "kubeflow-alice:default-editor"), { maxLength: 2 }),
    roleName: fc.constantFrom("ray-role", "team.a@ml"),
    rolePath: fc.constantFrom("/", "/ray/"),
    maxSessionDuration: fc.constantFrom(3600, 43200),
    tags: fc.dictionary(fc.constantFrom("team", "env"), fc.constantFrom("ml", "prod")),
    additionalPolicyArns: fc.constant(["arn:aws:iam::aws:policy/ReadOnlyAccess"]),
};
const validArgs = fc.oneof(
    fc.record(
        { namespace: fc.constantFrom("ray", "team-a"), oidcProviderArn: fc.constant(PROVIDER_ARN), buckets: validBuckets, ...optional },
        { requiredKeys: ["namespace", "oidcProviderArn", "buckets"] },
    ),
    fc.record(
        {
            identity: fc.constant("podIdentity"),
            clusterName: fc.constant("ray-prod"),
            namespace: fc.constantFrom("ray", "team-a"),
            buckets: validBuckets,
            roleSharing: fc.constantFrom("perTenant", "abac"),
            ...optional,
        },
        { requiredKeys: ["identity", "clusterName", "namespace", "buckets"] },
    ),
);
/** A careful user's arguments with one careless change: a field set to junk, or a key mistyped. */
const nearlyValidArgs = fc
    .tuple(validArgs, fc.constantFrom("namespace", "buckets", "tags", "oidcProviderArn", "clusterName", "acces", "prefix", "namepsace"), junk)
    .map(([args, key, value]) => ({ ...args, [key]: value }));
const anyArgs = fc.oneof(
    { weight: 3, arbitrary: validArgs },
    { weight: 3, arbitrary: nearlyValidArgs },
    { weight: 2, arbitrary: argsArbitrary },
    { weight: 1, arbitrary: junk },
);

const FIELD = /^(unknown argument "|the arguments|no arguments|[a-zA-Z]+(\[\d+\])?(\.[a-zA-Z]+(\[\d+\])?)*( |\[|\.|:|$))/;

describe(`component arguments, ${RUNS} generated cases (fast-check seed ${SEED})`, function () {
    this.timeout(300_000);
    after(() => resetMocks());

    it("every argument object is accepted, or refused with RayS3AccessValidationError naming a field; the accepted pass the pack in production", async () => {
        console.log(`      fast-check seed ${SEED} (FC_SEED=${SEED} reruns these cases)`);
        const accepted: RayS3AccessArgs[] = [];
        let refused = 0;
        fc.assert(
            fc.property(anyArgs, (args) => {
                try {
                    checkBeforeRegistration("generated", args as RayS3AccessArgs);
                } catch (error) {
                    assert.equal((error as Error).name, "RayS3AccessValidationError", `threw ${(error as Error).name}: ${(error as Error).message}`);
                    for (const problem of (error as { problems: string[] }).problems) assert.match(problem, FIELD, `names no field: ${problem}`);
                    refused++;
                    return;
                }
                accepted.push(args as RayS3AccessArgs);
            }),
            { numRuns: RUNS, seed: SEED },
        );
        console.log(
            `      ${accepted.length} accepted, ${refused} refused; ${Math.min(PACK_CASES, accepted.length)} accepted run through the engine and the pack`,
        );
        assert.ok(refused > 0 && accepted.length > 0, "both outcomes occur");
        // Build every accepted case's component in one production stack and run the whole pack on it.
        // Each accepted case in a production stack of its own (two cases may name the same role or service
        // account, which one stack could not hold), through the whole pack.
        const step = Math.max(1, accepted.length / PACK_CASES);
        const sample = Array.from({ length: Math.min(PACK_CASES, accepted.length) }, (_, k) => accepted[Math.floor(k * step)]);
        for (const [i, args] of sample.entries()) {
            const evaluated = await evaluateProgram({
                project: "ray-s3-access",
                stack: "prod",
                config: { "aws:region": "us-west-2" },
                program: () => new RayS3Access(`case-${i}`, args),
            });
            const rendered = { stack: "prod", role: "environment" as const, resources: evaluated.resources, outputs: {}, roles: [] };
            const mandatory = (await evaluatePolicies(policies, asPolicyResources(rendered))).filter((v) => v.enforcementLevel === "mandatory");
            assert.deepEqual(mandatory, [], `case ${JSON.stringify(args)}`);
            assert.equal(roleDocuments(evaluated.resources, {}).length, 1);
        }
    });
});
