/**
 * Tenants whose own grants reach into another tenant's prefix (programs/exposure.ts): warned once per environment,
 * never refused. The evaluator's side of it is in test/combinations.test.ts (every warning is a real reach, and every
 * reach into a prefix only the other tenant listed is warned).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../programs/config";
import { exposureWarnings, LISTED_EXPOSURES } from "../programs/exposure";
import { runCli } from "./support/cli";
import { resetMocks } from "./support/mocks";

function warnings(tenants: object[], extra: Record<string, string> = {}): string[] {
    return exposureWarnings(parseStackConfig("dev", { identity: "podIdentity", clusterName: "c", tenants: JSON.stringify(tenants), ...extra }));
}

describe("a tenant that reaches into another tenant's prefix", function () {
    this.timeout(120_000);
    after(() => resetMocks());

    it("is named with both tenants, what it can do there and the fix; sharing one prefix on purpose is not", () => {
        const found = warnings([
            { namespace: "alice", buckets: [{ bucket: "ckpt", prefixes: ["users/"] }] },
            {
                namespace: "bob",
                buckets: [
                    { bucket: "arn:aws:s3:::ckpt", prefixes: ["users/bob/"] },
                    { bucket: "data", prefixes: ["bob/"] },
                ],
            },
            { namespace: "carol", buckets: [{ bucket: "data", access: "read" }] },
            { namespace: "dave", buckets: [{ bucket: "ckpt", prefixes: ["users/", "users/dave/"] }] },
        ]);
        assert.deepEqual(found, [
            'tenant 0 ("alice") can read and write s3://ckpt/users/, which holds tenant 1 ("bob")\'s prefix "users/bob/": its pods reach that tenant\'s data. ' +
                'If that is not meant, give tenant 0 ("alice") a narrower prefix (one that is not the start of another tenant\'s); if it is, nothing needs to change',
            'tenant 3 ("dave") can read and write s3://ckpt/users/, which holds tenant 1 ("bob")\'s prefix "users/bob/": its pods reach that tenant\'s data. ' +
                'If that is not meant, give tenant 3 ("dave") a narrower prefix (one that is not the start of another tenant\'s); if it is, nothing needs to change',
            'tenant 2 ("carol") can read all of s3://data, which holds tenant 1 ("bob")\'s prefix "bob/": its pods reach that tenant\'s data. ' +
                'If that is not meant, give tenant 2 ("carol") a narrower prefix (one that is not the start of another tenant\'s); if it is, nothing needs to change',
        ]);
        // alice and dave both list users/, so dave's users/dave/ lies in what they share on purpose.
        assert.ok(!found.some((w) => w.includes('"users/dave/"')));
        assert.deepEqual(
            warnings([
                { namespace: "a", buckets: [{ bucket: "datasets", access: "read", prefixes: ["imagenet/"] }] },
                { namespace: "b", buckets: [{ bucket: "datasets", access: "read", prefixes: ["imagenet/"] }] },
            ]),
            [],
        );
    });

    it("a directory bucket named by its ARN and by its name is one bucket", () => {
        const found = warnings([
            { namespace: "a", buckets: [{ bucket: "arn:aws:s3express:us-west-2:111122223333:bucket/ckpt--usw2-az1--x-s3", access: "read" }] },
            { namespace: "b", buckets: [{ bucket: "ckpt--usw2-az1--x-s3", prefixes: ["b/"], createAccessPoint: true }] },
        ]);
        assert.equal(found.length, 1);
        assert.match(found[0], /^tenant 0 \("a"\) can read all of s3:\/\/ckpt--usw2-az1--x-s3, which holds tenant 1 \("b"\)'s prefix "b\/"/);
    });

    it("abac confines every tenant to its own NAMESPACE/ under the prefixes: nothing to warn of", () => {
        const tenants = ["a", "b"].map((namespace) => ({ namespace, buckets: [{ bucket: "shared", prefixes: ["ckpt/"] }] }));
        assert.deepEqual(warnings(tenants, { roleSharing: "abac" }), []);
    });

    it(`lists ${LISTED_EXPOSURES} and counts the rest (one wide tenant over 10,000 others)`, () => {
        const tenants = [
            { namespace: "platform", buckets: [{ bucket: "shared" }] },
            ...Array.from({ length: 10_000 }, (_, i) => ({ namespace: `team-${i}`, buckets: [{ bucket: "shared", prefixes: [`team-${i}/`] }] })),
        ];
        const found = warnings(tenants);
        assert.equal(found.length, LISTED_EXPOSURES + 1);
        assert.equal(found[LISTED_EXPOSURES], `and ${10_000 - LISTED_EXPOSURES} more cases of a tenant reaching into another tenant's prefix`);
    });

    it("render and check say it once per environment on stderr and still pass (exit 0); stdout stays the result", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "exposure-"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            [
                "config:",
                "  ray-s3-access:identity: podIdentity",
                "  ray-s3-access:clusterName: ray-dev",
                "  ray-s3-access:tenants:",
                '    - { namespace: alice, buckets: [{ bucket: ckpt, prefixes: ["users/"] }] }',
                '    - { namespace: bob, buckets: [{ bucket: ckpt, prefixes: ["users/bob/"] }] }',
                "",
            ].join("\n"),
        );
        for (const args of [["check"], ["render", "--json"], ["render", "--per-tenant"]]) {
            // The program's warnings reach the process's own stderr, as the Pulumi SDK writes them.
            let written = "";
            const write = process.stderr.write;
            process.stderr.write = ((chunk: string | Uint8Array) => {
                written += String(chunk);
                return true;
            }) as typeof process.stderr.write;
            let run;
            try {
                run = await runCli([...args, "--cwd", dir]);
            } finally {
                process.stderr.write = write;
            }
            const { code, stdout } = run;
            const stderr = run.stderr + written;
            assert.equal(code, 0, stderr);
            assert.equal(stderr.match(/tenant 0 \("alice"\) can read and write s3:\/\/ckpt\/users\//g)?.length, 1, `${args.join(" ")}: ${stderr}`);
            assert.doesNotMatch(stdout, /can read and write/);
        }
    });
});
