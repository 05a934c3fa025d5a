/**
 * Fleets: each environment's tenants split into shard stacks of at most N tenants (`ENV.shard_001`, ...), so engines
 * the operator already runs (the Pulumi Kubernetes Operator, CI matrices) deploy them side by side.
 *
 * Stability is the point: moving a tenant to another shard deletes its role in one stack and creates it in another,
 * an outage for its pods. So the assignment is recorded in `ray-s3-access.fleet.json`, next to the stack files, and
 * committed with them. A planned tenant stays in its shard for as long as it exists; a new tenant goes to the first
 * shard with room (new tenants in name order); a removed tenant frees its place. Reordering the stack file, adding or
 * removing a tenant moves no other tenant, and the same stack files and record give the same plan, byte for byte.
 * Nothing rebalances: a smaller `--shard-size` only limits where new tenants go.
 *
 * Shard stack names use `_`, which no Kubernetes namespace has, so they never collide with `--per-tenant` stacks
 * (`ENV.NAMESPACE`).
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { UsageError } from "./errors";

export const FLEET_FILE = "ray-s3-access.fleet.json";
/**
 * Tenants per shard by default: a perTenant tenant registers 5 to 7 resources, so a shard of 200 is about 1,200
 * resources: an update of a few minutes, a workspace pod within 1 GiB of memory, and 10,000 tenants in 50 stacks.
 */
export const DEFAULT_SHARD_SIZE = 200;
/** At most this many tenants per shard: one stack's evaluation stays well inside a workspace pod's memory. */
export const MAX_SHARD_SIZE = 2_000;

/** `ENV.shard_001`: the environment, and the shard's number. */
export const SHARD_STACK = /^(.+)\.shard_(\d{3,})$/;

export function shardStackName(environment: string, index: number): string {
    return `${environment}.shard_${String(index).padStart(3, "0")}`;
}

export function parseShardStack(stack: string): { environment: string; index: number } | undefined {
    const match = SHARD_STACK.exec(stack);
    return match ? { environment: match[1], index: Number(match[2]) } : undefined;
}

export interface Shard {
    /** The shard stack's name (`ENV.shard_001`). */
    stack: string;
    index: number;
    /** Namespaces, in name order. */
    tenants: string[];
}

export interface EnvironmentPlan {
    shardSize: number;
    shards: Shard[];
}

/** The recorded assignment: per environment, its shards and their tenants. */
export interface FleetRecord {
    version: 1;
    environments: Record<string, EnvironmentPlan>;
}

const recordSchema = z
    .object({
        version: z.literal(1),
        environments: z.record(
            z.string(),
            z
                .object({
                    shardSize: z.number().int().min(1).max(MAX_SHARD_SIZE),
                    shards: z.array(z.object({ stack: z.string(), index: z.number().int().min(1), tenants: z.array(z.string()) }).strict()),
                })
                .strict(),
        ),
    })
    .strict();

/** Reads the record next to the stack files, or undefined when there is none yet. */
export function readFleetRecord(dir: string): FleetRecord | undefined {
    const file = path.join(dir, FLEET_FILE);
    if (!fs.existsSync(file)) return undefined;
    let data: unknown;
    try {
        if (fs.statSync(file).size > 64 * 1024 * 1024) throw new Error("larger than 64 MiB");
        data = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
        throw new UsageError(`${FLEET_FILE}: cannot read it (${(error as Error).message}); restore it from version control`);
    }
    const parsed = recordSchema.safeParse(data);
    if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new UsageError(
            `${FLEET_FILE}: ${issue.path.join(".") || "(top)"}: ${issue.message}; restore it from version control, it is written by \`fleet plan --write\``,
        );
    }
    const record = parsed.data as FleetRecord;
    for (const [environment, plan] of Object.entries(record.environments)) {
        const seen = new Map<string, string>();
        for (const shard of plan.shards) {
            if (shard.stack !== shardStackName(environment, shard.index)) {
                throw new UsageError(
                    `${FLEET_FILE}: environment "${environment}" shard ${shard.index} is named "${shard.stack}", not "${shardStackName(environment, shard.index)}"`,
                );
            }
            for (const tenant of shard.tenants) {
                const other = seen.get(tenant);
                if (other)
                    throw new UsageError(`${FLEET_FILE}: tenant "${tenant}" is in both ${other} and ${shard.stack}; keep it in the one that deployed it`);
                seen.set(tenant, shard.stack);
            }
        }
    }
    return record;
}

/** The record as written: stable key order, shards by number, tenants by name, one tenant per line. */
export function formatFleetRecord(record: FleetRecord): string {
    const environments = Object.fromEntries(
        Object.keys(record.environments)
            .sort()
            .map((name) => {
                const plan = record.environments[name];
                const shards = [...plan.shards]
                    .sort((a, b) => a.index - b.index)
                    .map((s) => ({ stack: s.stack, index: s.index, tenants: [...s.tenants].sort() }));
                return [name, { shardSize: plan.shardSize, shards }];
            }),
    );
    return `${JSON.stringify({ version: 1, environments }, null, 2)}\n`;
}

export interface PlanChanges {
    added: string[];
    removed: string[];
}

/**
 * One environment's plan from its tenants and the previous plan: kept tenants stay, removed ones leave, new ones
 * (in name order) fill the lowest-numbered shard with room, then new shards. O(n log n) in tenants.
 */
export function planEnvironment(
    environment: string,
    tenants: readonly string[],
    previous: EnvironmentPlan | undefined,
    shardSize = previous?.shardSize ?? DEFAULT_SHARD_SIZE,
): { plan: EnvironmentPlan; changes: PlanChanges } {
    if (!Number.isInteger(shardSize) || shardSize < 1 || shardSize > MAX_SHARD_SIZE) {
        throw new UsageError(`--shard-size ${shardSize} must be a whole number from 1 to ${MAX_SHARD_SIZE}`);
    }
    const present = new Set(tenants);
    const shards = new Map<number, Set<string>>();
    const placed = new Set<string>();
    const removed: string[] = [];
    for (const shard of previous?.shards ?? []) {
        const kept = new Set<string>();
        for (const tenant of shard.tenants) {
            if (present.has(tenant)) {
                kept.add(tenant);
                placed.add(tenant);
            } else removed.push(tenant);
        }
        // An emptied shard stays: its stack still exists, and its next update deletes what its tenants had.
        shards.set(shard.index, kept);
    }
    const added = [...present].filter((t) => !placed.has(t)).sort();
    let cursor = 1;
    const nextWithRoom = (): number => {
        for (;;) {
            const shard = shards.get(cursor);
            if (shard === undefined) {
                shards.set(cursor, new Set());
                return cursor;
            }
            if (shard.size < shardSize) return cursor;
            cursor++;
        }
    };
    for (const tenant of added) shards.get(nextWithRoom())!.add(tenant);
    const plan: EnvironmentPlan = {
        shardSize,
        shards: [...shards.entries()]
            .sort(([a], [b]) => a - b)
            .map(([index, members]) => ({ stack: shardStackName(environment, index), index, tenants: [...members].sort() })),
    };
    return { plan, changes: { added, removed: removed.sort() } };
}
