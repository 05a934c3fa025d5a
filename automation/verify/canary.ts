/**
 * `verify --canary`: a short Job that runs as the tenant's service account, asks STS who it is and lists
 * each prefix the tenant may reach, then is deleted. It runs in the image the user chooses (their own Ray
 * image, or the AWS CLI image), so it also catches SDKs too old for web identity or Pod Identity.
 *
 * The Kubernetes calls sit behind `CanaryKube`, so tests put a fake in front; `kubeCanaryClient` is the real
 * one (@kubernetes/client-node, the user's kubeconfig).
 */
import * as semver from "semver";
import { AWS_CONFIG_MOUNT } from "../../components/crossAccount";

/** Log lines the canary prints start with this marker; everything else in the log is ignored. */
export const CANARY_MARKER = "ray-s3-access-canary";
export const DEFAULT_CANARY_IMAGE = "public.ecr.aws/aws-cli/aws-cli:latest";
export const CANARY_LABEL = "ray-s3-access/canary";

export type CanarySdk = "auto" | "python" | "cli";

/** The Python (boto3) canary: what the user's Ray code would do, with the SDK the image ships. */
const PYTHON_CANARY = `
import os, sys
def out(*words): print("${CANARY_MARKER}", *words, flush=True)
def line(error): return type(error).__name__ + ": " + " ".join(str(error).split())
import boto3
out("sdk", "boto3", boto3.__version__)
try:
    out("identity", boto3.client("sts").get_caller_identity()["Arn"])
    credentials = boto3.Session().get_credentials()
    out("source", credentials.method if credentials else "none")
except Exception as error:
    out("identity-error", line(error))
s3 = boto3.client("s3")
for target in os.environ.get("CANARY_TARGETS", "").split():
    if target.startswith("arn:"):  # an access point's ARN, then the prefix
        head, _, rest = target.partition(":accesspoint/")
        name, _, prefix = rest.partition("/")
        bucket = head + ":accesspoint/" + name
    else:
        bucket, _, prefix = target.partition("/")
    try:
        s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        out("list", target, "ok")
    except Exception as error:
        out("list-error", target, line(error))
# Ray Data and Ray Train read S3 through pyarrow (the AWS SDK for C++), with its own default credential chain.
try:
    import pyarrow, pyarrow.fs as pafs
except ImportError:
    pyarrow = None
if pyarrow is not None:
    out("pyarrow", pyarrow.__version__)
    region = os.environ.get("AWS_REGION")
    for target in os.environ.get("CANARY_TARGETS", "").split():
        if target.startswith("arn:"):  # pyarrow paths are bucket/key: an access point ARN cannot be named
            out("pyarrow-skip", target)
            continue
        try:
            # As Ray Data and Ray Train open an s3:// path: FileSystem.from_uri (which also honours AWS_ENDPOINT_URL_S3).
            fs, base = pafs.FileSystem.from_uri("s3://" + target + ("?region=" + region if region else ""))
            infos = fs.get_file_info(pafs.FileSelector(base, allow_not_found=True))
            read = "none"
            for info in infos:
                if info.type == pafs.FileType.File:
                    with fs.open_input_stream(info.path) as stream:
                        stream.read(1)
                    read = info.path
                    break
            out("pyarrow-list", target, read)
        except Exception as error:
            out("pyarrow-error", target, line(error))
        fs = None
    # pyarrow 24 and 25 (aws-c-io 0.26) can hang at exit while a filesystem from web identity is alive
    # (apache/arrow#50188): drop it and shut the SDK down before the interpreter does.
    try:
        pafs.finalize_s3()
    except Exception:
        pass  # a pyarrow without it, or finalized already: nothing to wait for
out("done")
`;

/** The shell wrapper: boto3 when the image has it (unless told otherwise), else the AWS CLI. */
const SHELL_CANARY = `
M=${CANARY_MARKER}
oneline() { tr '\\n' ' '; }
if [ "$CANARY_SDK" != "cli" ] && command -v python3 >/dev/null 2>&1 && python3 -c 'import boto3' >/dev/null 2>&1; then
  exec python3 -c "$CANARY_PY"
fi
if [ "$CANARY_SDK" = "python" ]; then echo "$M no-sdk python3 with boto3 not found"; exit 3; fi
if ! command -v aws >/dev/null 2>&1; then echo "$M no-sdk neither python3 with boto3 nor the aws CLI found"; exit 3; fi
echo "$M sdk aws-cli $(aws --version 2>&1 | sed -n 's|^aws-cli/\\([0-9.]*\\).*|\\1|p')"
if out=$(aws sts get-caller-identity --query Arn --output text 2>&1); then echo "$M identity $out"; echo "$M source $(aws configure list 2>/dev/null | awk '$1=="access_key"{print $3}')"; else echo "$M identity-error $(echo "$out" | oneline)"; fi
for t in $CANARY_TARGETS; do
  case "$t" in
    arn:*) r=\${t#*:accesspoint/}; n=\${r%%/*}; b=\${t%%:accesspoint/*}:accesspoint/$n; p=\${r#"$n"}; p=\${p#/} ;;
    *) b=\${t%%/*}; p=\${t#*/} ;;
  esac
  if out=$(aws s3api list-objects-v2 --bucket "$b" --prefix "$p" --max-keys 1 --output json 2>&1); then echo "$M list $t ok"; else echo "$M list-error $t $(echo "$out" | oneline)"; fi
done
echo "$M done"
`;

/** What a canary runs for: one service account of a tenant. */
export interface CanaryTarget {
    namespace: string;
    serviceAccountName: string;
    identity: "irsa" | "podIdentity";
    /**
     * The credential path the pod must use (the IRSA to Pod Identity migration: web identity while the
     * ServiceAccount is annotated, Pod Identity once it is not and the pods restarted).
     */
    expectedSource?: "irsa" | "podIdentity";
    /** `bucket/prefix` for each prefix the tenant may list (`bucket/` for a whole bucket). */
    targets: string[];
    /** The role the pod should end up as (the assets role when buckets are in another account). */
    expectedRoleArn: string;
    /** Extra environment (the chained profile of an IRSA cross-account tenant). */
    env?: Record<string, string>;
    /** A ConfigMap to mount at the chained profile's path (IRSA cross-account). */
    awsConfigMap?: string;
    region?: string;
}

export interface CanaryOptions {
    image: string;
    sdk: CanarySdk;
    timeoutSeconds: number;
    /** How often to poll the Job (default 2 s). */
    pollMs?: number;
    /** Leave the Job for inspection instead of deleting it (its ttlSecondsAfterFinished still applies). */
    keep?: boolean;
}

/** Where a Job stands: still running, finished (and how), or stuck (a pod that cannot start). */
export interface CanaryJobState {
    finished: boolean;
    succeeded?: boolean;
    /** Why the pod cannot run (ImagePullBackOff, CreateContainerConfigError, FailedCreate ...). */
    stuck?: string;
}

/** The Kubernetes calls the canary needs. */
export interface CanaryKube {
    createJob(namespace: string, job: Record<string, unknown>): Promise<void>;
    jobState(namespace: string, name: string): Promise<CanaryJobState>;
    jobLogs(namespace: string, name: string): Promise<string>;
    deleteJob(namespace: string, name: string): Promise<void>;
}

export interface CanaryResult {
    ok: boolean;
    message: string;
    fix?: string;
    /** The SDK the image used, as the canary reported it. */
    sdk?: { name: string; version: string };
}

/** The Job manifest (batch/v1) for a target. */
export function canaryJob(name: string, target: CanaryTarget, options: CanaryOptions): Record<string, unknown> {
    const labels = { "app.kubernetes.io/managed-by": "ray-s3-access", [CANARY_LABEL]: "true" };
    const env = {
        CANARY_TARGETS: target.targets.join(" "),
        CANARY_SDK: options.sdk,
        CANARY_PY: PYTHON_CANARY,
        ...(target.region ? { AWS_REGION: target.region, AWS_DEFAULT_REGION: target.region } : {}),
        ...(target.env ?? {}),
    };
    return {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { name, namespace: target.namespace, labels },
        spec: {
            backoffLimit: 0,
            activeDeadlineSeconds: options.timeoutSeconds,
            // A safety net: the runner deletes the Job itself, but if it is killed, the cluster cleans up.
            ttlSecondsAfterFinished: 600,
            template: {
                metadata: { labels },
                spec: {
                    serviceAccountName: target.serviceAccountName,
                    restartPolicy: "Never",
                    containers: [
                        {
                            name: "canary",
                            image: options.image,
                            command: ["sh", "-c", SHELL_CANARY],
                            env: Object.entries(env).map(([k, value]) => ({ name: k, value })),
                            resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                            ...(target.awsConfigMap ? { volumeMounts: [{ name: "aws-config", mountPath: AWS_CONFIG_MOUNT, readOnly: true }] } : {}),
                        },
                    ],
                    ...(target.awsConfigMap ? { volumes: [{ name: "aws-config", configMap: { name: target.awsConfigMap } }] } : {}),
                },
            },
        },
    };
}

/** What the canary printed. */
export interface CanaryReport {
    sdk?: { name: string; version: string };
    noSdk?: string;
    identity?: string;
    /** The SDK's credential provider: `assume-role-with-web-identity` (IRSA), `container-role` (Pod Identity), ... */
    source?: string;
    identityError?: string;
    lists: { target: string; ok: boolean; error?: string }[];
    /** The image's pyarrow, when it has one: its version, and its own listing (and first read) of each target. */
    pyarrow?: { version: string; lists: { target: string; ok: boolean; skipped?: boolean; read?: string; error?: string }[] };
    done: boolean;
}

export function parseCanaryLog(log: string): CanaryReport {
    const report: CanaryReport = { lists: [], done: false };
    for (const raw of log.split("\n")) {
        const line = raw.trim();
        if (!line.startsWith(`${CANARY_MARKER} `)) continue;
        const [kind, ...rest] = line.slice(CANARY_MARKER.length + 1).split(" ");
        if (kind === "sdk") report.sdk = { name: rest[0], version: rest[1] ?? "" };
        else if (kind === "no-sdk") report.noSdk = rest.join(" ");
        else if (kind === "identity") report.identity = rest[0];
        else if (kind === "identity-error") report.identityError = rest.join(" ");
        else if (kind === "source") report.source = rest[0];
        else if (kind === "list") report.lists.push({ target: rest[0], ok: true });
        else if (kind === "list-error") report.lists.push({ target: rest[0], ok: false, error: rest.slice(1).join(" ") });
        else if (kind === "pyarrow") report.pyarrow = { version: rest[0] ?? "", lists: [] };
        else if (kind === "pyarrow-list") report.pyarrow?.lists.push({ target: rest[0], ok: true, read: rest[1] === "none" ? undefined : rest[1] });
        else if (kind === "pyarrow-skip") report.pyarrow?.lists.push({ target: rest[0], ok: true, skipped: true });
        else if (kind === "pyarrow-error") report.pyarrow?.lists.push({ target: rest[0], ok: false, error: rest.slice(1).join(" ") });
        else if (kind === "done") report.done = true;
    }
    return report;
}

/**
 * The first SDK versions that find credentials for each mechanism (EKS user guide: "Use IRSA with the AWS
 * SDK" and "Use Pod Identity with the AWS SDK").
 */
export const MINIMUM_SDK: Record<"irsa" | "podIdentity", Record<string, string>> = {
    irsa: { boto3: "1.9.220", "aws-cli": "1.16.232" },
    podIdentity: { boto3: "1.34.41", "aws-cli": "1.30.0" },
};
const MINIMUM_AWS_CLI_V2: Record<"irsa" | "podIdentity", string> = { irsa: "2.0.0", podIdentity: "2.15.0" };

/** The minimum version of the reported SDK for the identity, and whether the image is below it. */
export function sdkTooOld(sdk: { name: string; version: string } | undefined, identity: "irsa" | "podIdentity"): string | undefined {
    if (!sdk || !sdk.version) return undefined;
    const minimum = sdk.name === "aws-cli" && sdk.version.startsWith("2.") ? MINIMUM_AWS_CLI_V2[identity] : MINIMUM_SDK[identity][sdk.name];
    const version = semver.coerce(sdk.version);
    if (!minimum || !version || semver.gte(version, minimum)) return undefined;
    return `the image's ${sdk.name} ${sdk.version} is older than ${minimum}, the first that supports ${identity === "irsa" ? "IRSA (web identity)" : "EKS Pod Identity"}: upgrade it in the image`;
}

const SOURCE_NAMES = { irsa: "IRSA (web identity)", podIdentity: "EKS Pod Identity" } as const;

/**
 * The AWS SDK for C++ in pyarrow's wheels, from each release: the wheels build the SDK through vcpkg at the baseline
 * arrow's `.env` pins at the release tag (`VCPKG=`), and that vcpkg commit's `ports/aws-sdk-cpp/vcpkg.json` gives the
 * version. Read at apache/arrow `apache-arrow-N.0.0` and microsoft/vcpkg (docs/design.md, "pyarrow and the AWS SDK for
 * C++"). A version past the last row bundles that row's SDK or a newer one.
 */
export const PYARROW_AWS_SDK_CPP: readonly { from: string; sdk: string }[] = [
    { from: "8.0.0", sdk: "1.9.220" },
    { from: "13.0.0", sdk: "1.11.4" },
    { from: "16.0.0", sdk: "1.11.201" },
    { from: "17.0.0", sdk: "1.11.285" },
    { from: "22.0.0", sdk: "1.11.591" },
    { from: "24.0.0", sdk: "1.11.724" },
    { from: "25.0.0", sdk: "1.11.800" },
];

/** The first AWS SDK for C++ with EKS Pod Identity (AWS's list of SDK versions for Pod Identity). */
export const MINIMUM_AWS_SDK_CPP_POD_IDENTITY = "1.11.263";

/** The AWS SDK for C++ a pyarrow wheel bundles, when the table knows its release. */
export function pyarrowAwsSdk(version: string | undefined): string | undefined {
    const parsed = version ? semver.coerce(version) : null;
    if (!parsed) return undefined;
    return [...PYARROW_AWS_SDK_CPP].reverse().find((row) => semver.gte(parsed, row.from))?.sdk;
}

/**
 * The first pyarrow that can use each mechanism: Pod Identity from the first release whose SDK is at least
 * 1.11.263 (17.0.0); web identity (IRSA) works in every pyarrow with S3 support.
 */
export const MINIMUM_PYARROW: Record<"irsa" | "podIdentity", string> = {
    irsa: "0.0.0",
    podIdentity: PYARROW_AWS_SDK_CPP.find((row) => semver.gte(row.sdk, MINIMUM_AWS_SDK_CPP_POD_IDENTITY))!.from,
};

/** pyarrow's version with the SDK it bundles, as the canary reports it. */
function pyarrowName(version: string): string {
    const sdk = pyarrowAwsSdk(version);
    const newer = semver.coerce(version)!.major > semver.major(PYARROW_AWS_SDK_CPP[PYARROW_AWS_SDK_CPP.length - 1].from);
    return `pyarrow ${version}${sdk ? ` (AWS SDK for C++ ${sdk}${newer ? " or newer" : ""})` : ""}`;
}

/** What pyarrow did with the targets, when it failed none: listed (and read), or named none (access point ARNs only). */
function pyarrowSummary(pyarrow: NonNullable<CanaryReport["pyarrow"]>): string {
    const skipped = pyarrow.lists.filter((l) => l.skipped).map((l) => l.target);
    const arns = `access point ARNs, which pyarrow paths cannot name: ${skipped.join(", ")}`;
    if (skipped.length > 0 && skipped.length === pyarrow.lists.length) return `${pyarrowName(pyarrow.version)} can name none of them (${arns})`;
    return `${pyarrowName(pyarrow.version)} lists ${pyarrow.lists.some((l) => l.read) ? "and reads them" : "them"} too${skipped.length ? ` (not ${arns})` : ""}`;
}

/** Why the image's pyarrow cannot use the tenant's mechanism, or undefined. */
export function pyarrowTooOld(version: string | undefined, identity: "irsa" | "podIdentity"): string | undefined {
    const parsed = version ? semver.coerce(version) : null;
    if (!parsed || semver.gte(parsed, MINIMUM_PYARROW[identity])) return undefined;
    return `the image's pyarrow ${version} bundles ${pyarrowAwsSdk(version) ? `the AWS SDK for C++ ${pyarrowAwsSdk(version)}` : "an AWS SDK for C++"}, older than ${MINIMUM_AWS_SDK_CPP_POD_IDENTITY}, which EKS Pod Identity needs: pyarrow >= ${MINIMUM_PYARROW.podIdentity} for Pod Identity (Ray Data and Ray Train read S3 through it), or run this tenant on IRSA`;
}

/** The identity path from the SDK's credential provider name (botocore's and the AWS CLI's), when it is one of ours. */
function sourceOf(method: string | undefined): "irsa" | "podIdentity" | undefined {
    if (method === "assume-role-with-web-identity") return "irsa";
    if (method === "container-role") return "podIdentity";
    return undefined;
}

/** `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION` -> the role's name; undefined for anything else. */
function assumedRoleName(arn: string): string | undefined {
    const match = /^arn:[^:]+:sts::\d+:assumed-role\/([^/]+)\//.exec(arn);
    return match?.[1];
}

/** Reads the canary's report against what the tenant should have. */
export function judgeCanary(report: CanaryReport, target: CanaryTarget): CanaryResult {
    const who = `${target.namespace}/${target.serviceAccountName}`;
    const roleName = target.expectedRoleArn.split("/").pop()!;
    const tooOld = sdkTooOld(report.sdk, target.identity);
    if (report.noSdk) {
        return { ok: false, message: `canary for ${who}: ${report.noSdk}`, fix: "pass --canary-image with python3 + boto3 (a Ray image) or the AWS CLI" };
    }
    if (report.identityError !== undefined) {
        const setup =
            target.identity === "irsa"
                ? "the ServiceAccount must carry eks.amazonaws.com/role-arn and the pod must be created after it (restart pods)"
                : "the eks-pod-identity-agent add-on must run on the node and an association must exist for the service account";
        return {
            ok: false,
            sdk: report.sdk,
            message: `canary for ${who} got no identity: ${report.identityError}`,
            fix: tooOld ?? `${setup}; run \`ray-s3-access verify\` without --canary to see which piece is missing`,
        };
    }
    if (report.identity === undefined) {
        return report.sdk === undefined
            ? {
                  ok: false,
                  message: `canary for ${who} finished without output: its pod did not run or could not start a shell`,
                  fix: `check that ServiceAccount ${who} exists and that the image has sh; rerun with --canary-keep and read \`kubectl describe job -n ${target.namespace}\``,
              }
            : {
                  ok: false,
                  sdk: report.sdk,
                  message: `canary for ${who} ended before reporting an identity`,
                  fix: `rerun with --canary-keep and read the Job's log (kubectl logs -n ${target.namespace} -l ${CANARY_LABEL}=true)`,
              };
    }
    if (assumedRoleName(report.identity) !== roleName) {
        return {
            ok: false,
            sdk: report.sdk,
            message: `canary for ${who} runs as ${report.identity}, not as the role ${roleName}`,
            fix:
                tooOld ??
                (target.identity === "irsa"
                    ? "the pod fell back to other credentials (often the node's role): annotate the ServiceAccount (verify shows the command) and restart the pods; remove AWS_ACCESS_KEY_ID / AWS_PROFILE overrides from the pod"
                    : "the pod fell back to other credentials (often the node's role): check the association (aws eks list-pod-identity-associations) and restart the pods"),
        };
    }
    const source = sourceOf(report.source);
    if (target.expectedSource !== undefined && source !== undefined && source !== target.expectedSource) {
        return {
            ok: false,
            sdk: report.sdk,
            message: `canary for ${who} runs as ${roleName} via ${SOURCE_NAMES[source]}, not ${SOURCE_NAMES[target.expectedSource]}`,
            fix:
                target.expectedSource === "podIdentity"
                    ? `a new pod got IRSA, so no Pod Identity association applies to it (EKS gives an association precedence over the annotation): check the association (aws eks list-pod-identity-associations) and the eks-pod-identity-agent add-on; or the pod spec sets AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE itself, which the SDKs try first. Fix it before the next migration step`
                    : `a new pod got Pod Identity, so an association for this service account exists and takes precedence over the annotation: delete it (aws eks delete-pod-identity-association) or move the tenant to identity "irsaAndPodIdentity"`,
        };
    }
    const denied = report.lists.filter((l) => !l.ok);
    const unreported = target.targets.filter((t) => !report.lists.some((l) => l.target === t));
    if (denied.length > 0 || unreported.length > 0 || !report.done) {
        return {
            ok: false,
            sdk: report.sdk,
            message: `canary for ${who} runs as ${roleName} but ${[
                ...denied.map((l) => `cannot list s3://${l.target} (${l.error})`),
                ...unreported.map((t) => `did not get to s3://${t}`),
            ].join("; ")}`,
            fix: denied.some((l) => /AccessDenied/.test(l.error ?? ""))
                ? "the role's policy does not allow it, or a bucket policy / SCP / KMS key policy denies it: run `ray-s3-access verify` for the policy check, then check the bucket policy"
                : "check the bucket names and the Job's network access to S3",
        };
    }
    // pyarrow (Ray Data, Ray Train) goes through the AWS SDK for C++ and its own credential chain.
    if (report.pyarrow) {
        const lists = report.pyarrow.lists;
        const failed = [
            ...lists.filter((l) => !l.ok).map((l) => `cannot list s3://${l.target} (${l.error})`),
            ...target.targets.filter((t) => !lists.some((l) => l.target === t)).map((t) => `did not get to s3://${t}`),
        ];
        const tooOld = pyarrowTooOld(report.pyarrow.version, target.identity);
        if (failed.length > 0 || tooOld) {
            const chained = target.identity === "irsa" && target.env?.AWS_PROFILE !== undefined;
            return {
                ok: false,
                sdk: report.sdk,
                message: `canary for ${who}: ${report.sdk?.name ?? "the SDK"} lists as ${roleName}, but ${pyarrowName(report.pyarrow.version)} ${
                    failed.length > 0 ? failed.join("; ") : "cannot use EKS Pod Identity"
                }`,
                fix:
                    tooOld ??
                    (chained
                        ? 'pyarrow (the AWS SDK for C++) does not follow the AWS profile chain into the assets role: use identity "podIdentity" for buckets in another account'
                        : "pyarrow uses the AWS SDK for C++'s own credential chain: check AWS_REGION in the pod and that nothing sets AWS_ACCESS_KEY_ID for it; run `ray-s3-access explain` with the error"),
            };
        }
    }
    return {
        ok: true,
        sdk: report.sdk,
        message: `canary for ${who} runs as ${roleName}${source ? ` via ${SOURCE_NAMES[source]}` : ""} (${report.sdk ? `${report.sdk.name} ${report.sdk.version}` : "unknown SDK"}) and lists ${target.targets.map((t) => `s3://${t}`).join(", ")}${
            report.pyarrow ? `; ${pyarrowSummary(report.pyarrow)}` : ""
        }`,
    };
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
        });
    });
}

/** A Job name: DNS-1123, unique enough for concurrent canaries in one namespace. */
export function canaryJobName(serviceAccountName: string): string {
    const suffix = Math.random().toString(36).slice(2, 8);
    return `ray-s3-canary-${serviceAccountName}`.slice(0, 63 - suffix.length - 1).replace(/-+$/, "") + `-${suffix}`;
}

/**
 * Runs one canary: creates the Job, waits (bounded by the timeout) for it to finish or get stuck, reads the
 * report from its log, and deletes the Job whatever happened.
 */
export async function runCanary(kube: CanaryKube, target: CanaryTarget, options: CanaryOptions, signal?: AbortSignal): Promise<CanaryResult> {
    const name = canaryJobName(target.serviceAccountName);
    const who = `${target.namespace}/${target.serviceAccountName}`;
    await kube.createJob(target.namespace, canaryJob(name, target, options));
    try {
        const pollMs = options.pollMs ?? 2000;
        // The Job's own activeDeadlineSeconds stops the pod; allow a little more for the status to land.
        const deadline = Date.now() + (options.timeoutSeconds + 30) * 1000;
        let state: CanaryJobState = { finished: false };
        while (Date.now() < deadline && !signal?.aborted) {
            state = await kube.jobState(target.namespace, name);
            if (state.finished || state.stuck) break;
            await delay(pollMs, signal);
        }
        if (state.stuck) {
            return {
                ok: false,
                message: `canary for ${who} could not start: ${state.stuck}`,
                fix: /Image|image/.test(state.stuck)
                    ? `the image ${options.image} cannot be pulled from the cluster: pass --canary-image with one it can pull`
                    : `check that ServiceAccount ${who} exists (verify lists it) and the namespace allows the Job (quotas, admission policies)`,
            };
        }
        if (!state.finished) {
            return {
                ok: false,
                message: signal?.aborted ? `canary for ${who} cancelled` : `canary for ${who} did not finish within ${options.timeoutSeconds} s`,
                fix: "raise --canary-timeout, or check the Job's pod events (image pull, scheduling)",
            };
        }
        return judgeCanary(parseCanaryLog(await kube.jobLogs(target.namespace, name)), target);
    } finally {
        if (!options.keep) await kube.deleteJob(target.namespace, name);
    }
}

const STUCK_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"]);

/** The real CanaryKube: @kubernetes/client-node with the user's kubeconfig. */
export async function kubeCanaryClient(): Promise<CanaryKube> {
    const k8s = await import("@kubernetes/client-node");
    const config = new k8s.KubeConfig();
    config.loadFromDefault();
    const batch = config.makeApiClient(k8s.BatchV1Api);
    const core = config.makeApiClient(k8s.CoreV1Api);
    const podOf = async (namespace: string, name: string) => (await core.listNamespacedPod({ namespace, labelSelector: `job-name=${name}` })).items[0];
    return {
        createJob: async (namespace, job) => {
            await batch.createNamespacedJob({ namespace, body: job as never });
        },
        jobState: async (namespace, name) => {
            const job = await batch.readNamespacedJobStatus({ namespace, name });
            const status = job.status ?? {};
            if ((status.succeeded ?? 0) > 0) return { finished: true, succeeded: true };
            if ((status.failed ?? 0) > 0) return { finished: true, succeeded: false };
            const pod = await podOf(namespace, name);
            const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting;
            if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) return { finished: false, stuck: `${waiting.reason}: ${waiting.message ?? ""}`.trim() };
            const failedCreate = (status.conditions ?? []).find((c) => c.type === "Failed" && c.status === "True");
            if (failedCreate) return { finished: true, succeeded: false };
            return { finished: false };
        },
        jobLogs: async (namespace, name) => {
            const pod = await podOf(namespace, name);
            if (!pod?.metadata?.name) return "";
            return core.readNamespacedPodLog({ namespace, name: pod.metadata.name, container: "canary" });
        },
        deleteJob: async (namespace, name) => {
            await batch.deleteNamespacedJob({ namespace, name, propagationPolicy: "Background" });
        },
    };
}
