// llama.cpp's side of the `llama` bench, through node-llama-cpp (prebuilt CPU binaries, no compiler needed).
// Usage: node llama-bench.mjs <model.gguf> <threads>. Started by LlamaBench.cs from the folder node-llama-cpp is
// installed in (so the import below resolves); reads one JSON command per line on stdin and answers each with one
// line "@@ {json}" on stdout (llama.cpp's own log lines go to stderr or stay unprefixed):
//   {"op":"info"}                                   -> {"llamaCpp": release, "buildType": ...}
//   {"op":"greedy","prompts":[[ids]],"tokens":N}    -> {"outputs":[[ids]]}  greedy continuations, one sequence at a time
//   {"op":"prefill","prompt":[ids]}                 -> {"ms": time to first token}
//   {"op":"decode","prompts":[[ids]],"tokens":N}    -> {"rate": tok/s, ...} all prompts as parallel sequences of one context
// Every context is made for the command and disposed after it, sized to its prompts (contextSize is per sequence).
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { createInterface } from "node:readline";

const [modelPath, threadsText] = process.argv.slice(2);
const threads = Number(threadsText);
const llama = await getLlama({ gpu: false, build: "never", maxThreads: threads, logLevel: LlamaLogLevel.error, progressLogs: false });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });

const reply = (o) => process.stdout.write("@@ " + JSON.stringify(o) + "\n");

async function withContext(sequences, perSequence, body) {
    // Greedy decoding: temperature 0 picks the arg max; EOG tokens are ordinary tokens here, as in our engine's bench requests.
    const context = await model.createContext({ sequences, contextSize: perSequence, threads, batchSize: 512 });
    try {
        return await body(context);
    } finally {
        await context.dispose();
    }
}

const greedy = { temperature: 0, yieldEogToken: true };

async function greedyRun({ prompts, tokens }) {
    const longest = Math.max(...prompts.map((p) => p.length));
    return withContext(1, longest + tokens + 64, async (context) => {
        const outputs = [];
        for (const prompt of prompts) {
            const sequence = context.getSequence();
            const out = [];
            for await (const t of sequence.evaluate(prompt, greedy)) {
                out.push(t);
                if (out.length >= tokens) break;
            }
            outputs.push(out);
            sequence.dispose();
        }
        return { outputs };
    });
}

async function prefill({ prompt }) {
    return withContext(1, prompt.length + 64, async (context) => {
        const sequence = context.getSequence();
        const start = performance.now();
        for await (const _ of sequence.evaluate(prompt, greedy)) break; // the first token: the whole prompt evaluated, one token sampled
        return { ms: performance.now() - start };
    });
}

// n sequences decode together. The window opens when the last of them has its first token (every prompt evaluated)
// and closes when each has `tokens` tokens inside it; the rate is the tokens inside the window over its length: the
// formula LlamaBench.cs applies to our engine.
async function decode({ prompts, tokens }) {
    const longest = Math.max(...prompts.map((p) => p.length));
    return withContext(prompts.length, longest + (4 * tokens) + 256, async (context) => {
        const stamps = prompts.map(() => []);
        let start = null;
        let end = null;
        await Promise.all(prompts.map(async (prompt, i) => {
            const sequence = context.getSequence();
            for await (const _ of sequence.evaluate(prompt, greedy)) {
                const now = performance.now();
                stamps[i].push(now);
                if (end !== null || stamps[i].length >= (3 * tokens) + 128) break; // within the context's room, whatever happens
                if (start === null && stamps.every((s) => s.length > 0)) start = Math.max(...stamps.map((s) => s[0]));
                if (start !== null && stamps.every((s) => s.filter((t) => t > start).length >= tokens)) end = now;
            }
        }));
        end ??= Math.max(...stamps.map((s) => s[s.length - 1]));
        const counted = stamps.reduce((sum, s) => sum + s.filter((t) => t > start && t <= end).length, 0);
        return { rate: counted / ((end - start) / 1000), counted, windowMs: end - start };
    });
}

const ops = {
    info: async () => ({ llamaCpp: llama.llamaCppRelease, buildType: llama.buildType, cpuMathCores: llama.cpuMathCores, flashAttention: model.defaultContextFlashAttention }),
    greedy: greedyRun,
    prefill,
    decode,
};

reply({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const command = JSON.parse(line);
    try {
        reply({ ok: true, ...(await ops[command.op](command)) });
    } catch (e) {
        reply({ ok: false, error: String(e?.stack ?? e) });
    }
}
await model.dispose();
await llama.dispose();
