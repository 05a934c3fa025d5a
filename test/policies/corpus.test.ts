/**
 * The corpus of public documents (corpus.ts): the pack's exact findings and levels for each, and, for identity
 * policies, the independent evaluator's agreement on the S3 actions the document grants.
 */
import { strict as assert } from "assert";
import { analyseDocument } from "../../policies/lib/grants";
import { policies } from "../../policies/rules";
import { s3ActionsAllowed } from "../support/s3Oracle";
import { CORPUS, CorpusCase } from "./corpus";
import { resource, role, run } from "./harness";

function carrier(entry: CorpusCase) {
    const stack = entry.stack ?? "prod";
    const text = typeof entry.document === "string" ? entry.document : JSON.stringify(entry.document);
    switch (entry.carrier) {
        case "identity":
            return resource("aws:iam/policy:Policy", "p", { policy: text }, stack);
        case "bucket":
            return resource("aws:s3/bucketPolicy:BucketPolicy", "bp", { bucket: "b", policy: text }, stack);
        case "trust":
            return role(text, {}, stack);
        case "attachment":
            return resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", { role: "r", policyArn: text }, stack);
    }
}

describe("corpus of public IAM documents", () => {
    it("holds documents of every carrier, clean and not", () => {
        assert.ok(CORPUS.length >= 30);
        for (const kind of ["identity", "bucket", "trust", "attachment"])
            assert.ok(
                CORPUS.some((c) => c.carrier === kind),
                kind,
            );
        assert.ok(CORPUS.filter((c) => Object.keys(c.findings).length === 0).length >= 10);
    });

    for (const entry of CORPUS) {
        it(`${entry.name}: ${Object.keys(entry.findings).length === 0 ? "clean" : JSON.stringify(entry.findings)}`, async () => {
            const violations = await run(policies, [carrier(entry)]);
            const counts: Record<string, number> = {};
            for (const v of violations) {
                assert.equal(v.enforcementLevel, v.policy.endsWith("-advisory") ? "advisory" : "mandatory", v.policy);
                counts[v.policy] = (counts[v.policy] ?? 0) + 1;
            }
            assert.deepEqual(counts, entry.findings, `${entry.reason}\n${violations.map((v) => `${v.policy}: ${v.message}`).join("\n")}`);
            if (entry.carrier === "identity" && typeof entry.document === "object" && !("iam-statements-well-formed" in entry.findings)) {
                const analysis = await analyseDocument(entry.document, "identity");
                const ours = analysis.s3.flatMap((g) => [...g.granted.keys()]);
                const oracle = await s3ActionsAllowed(entry.document);
                assert.deepEqual([...new Set(ours)].sort(), [...oracle].sort(), "the analysis and iam-simulate disagree on the S3 actions granted");
            }
        });
    }
});
