using System.Diagnostics;
using System.Globalization;
using Sluice.Inference.Generation;

namespace Sluice.Bench;

/// <summary>
/// <c>generate</c>: tokens/s of <c>op: generate</c>'s loop, continuous batching vs static batches of the same width, on a
/// random-weight decoder built here (<see cref="TinyDecoder"/>; <c>--hidden</c>/<c>--layers</c> for a larger one), the same
/// greedy requests each time: prompts of 1..<c>--max-prompt</c> bytes and max_new_tokens drawn from 4..<c>--max-new</c>, so a
/// static batch keeps stepping for its longest row. Each engine runs with prompts prefilled together (the default
/// <see cref="PrefillPolicy"/>) and each alone (the loop before batched prefill). Rounds interleave the four (A B C D D C
/// B A) after one untimed warm-up of each; tokens counted are those rows keep (static's steps for finished rows are not).
/// All four's rows are checked equal. GenAI's static batches on the same requests are printed for reference.
/// Lines before the last: prefill together/alone per engine; last line: <c>ratio: continuous/static</c> (medians, prefill together).
/// </summary>
internal static class GenerateBench
{
    private const string Usage = "usage: Sluice.Bench generate [--requests 96] [--max-batch 8] [--max-new 64] [--max-prompt 120] [--hidden 64] [--layers 2] [--rounds 3] [--threads 2] [--pad-share-pct 25]";

    public static async Task<int> RunAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        int requests = 96, maxBatch = 8, maxNew = 64, maxPrompt = 120, hidden = TinyDecoder.Hidden, layers = TinyDecoder.Layers, rounds = 3, threads = 2, padSharePct = (int)(PrefillPolicy.DefaultMaxPadShare * 100);
        for (var i = 1; i < args.Length; i++)
        {
            if (i + 1 >= args.Length) { Console.Error.WriteLine(Usage); return 2; }
            var v = int.Parse(args[++i], ci);
            switch (args[i - 1])
            {
                case "--requests": requests = v; break;
                case "--max-batch": maxBatch = v; break;
                case "--max-new": maxNew = v; break;
                case "--max-prompt": maxPrompt = v; break;
                case "--hidden": hidden = v; break;
                case "--layers": layers = v; break;
                case "--rounds": rounds = v; break;
                case "--threads": threads = v; break;
                case "--pad-share-pct": padSharePct = v; break;
                default: Console.Error.WriteLine($"unknown argument '{args[i - 1]}'; {Usage}"); return 2;
            }
        }
        if (requests < 1 || maxBatch < 1 || maxNew < 4 || maxPrompt < 1 || hidden % 4 != 0 || layers < 1 || rounds < 1 || padSharePct is < 0 or > 100 || maxPrompt + maxNew >= TinyDecoder.ContextLength)
        {
            Console.Error.WriteLine($"out of range (hidden a multiple of 4, max-prompt + max-new < {TinyDecoder.ContextLength}); {Usage}");
            return 2;
        }
        var dir = Path.Combine(Path.GetTempPath(), $"sluice-bench-generate-{Environment.ProcessId}");
        try
        {
            var shape = new DecoderShape(hidden, 4, layers);
            var files = TinyDecoder.Export(dir, shape: shape);
            using var model = GenerationModel.Load(new GenerateOptions(files.Directory), threads);
            var random = new Random(42);
            var eos = new HashSet<int> { TinyDecoder.EosTokenId };
            var greedy = new TokenSampler(0, 0, 1);
            var work = Enumerable.Range(0, requests).Select(_ =>
            {
                List<int> prompt = [TinyDecoder.BosTokenId, .. Enumerable.Range(0, random.Next(1, maxPrompt + 1)).Select(_ => random.Next(32, 127))];
                return new GenerationRequest(prompt, new GenerationSettings(random.Next(4, maxNew + 1), eos, [], greedy, 0));
            }).ToList();
            Console.WriteLine($"model: hidden {hidden}, heads 4, layers {layers} ({new FileInfo(files.Model).Length / 1024} KiB); {requests} requests, prompts 2..{maxPrompt + 1} tokens, max_new_tokens 4..{maxNew}; max batch {maxBatch}; prefill pads at most {padSharePct}% of a group; {threads} ORT threads; {Environment.ProcessorCount} cores");

            // CPU time of the process as well as wall time: on a shared machine the CPU seconds a run needed vary far less
            // than the seconds it waited for a core.
            async Task<(double TokensPerSecond, long Steps, long Prefills, GenerationResult[] Rows, double TokensPerCpuSecond)> Loop(bool continuous, bool together)
            {
                var batcher = new ContinuousBatcher(new DecoderRunner(model), maxBatch, continuous, together ? new PrefillPolicy(maxBatch, padSharePct / 100.0) : new PrefillPolicy(1));
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                var rows = await batcher.GenerateAsync(work, CancellationToken.None);
                var wall = clock.Elapsed.TotalSeconds;
                var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
                var tokens = rows.Sum(r => r.Tokens.Count);
                return (tokens / wall, batcher.Steps, batcher.Prefills, rows, tokens / cpuSeconds);
            }

            (bool Continuous, bool Together, string Name)[] configs = [(true, true, "continuous"), (true, false, "continuous, prefill alone"), (false, true, "static"), (false, false, "static, prefill alone")];
            var warm = new List<(double TokensPerSecond, long Steps, long Prefills, GenerationResult[] Rows, double TokensPerCpuSecond)>();
            foreach (var (continuous, together, _) in configs) warm.Add(await Loop(continuous, together));
            var warmContinuous = warm[0];
            var mismatched = Enumerable.Range(0, requests).Count(i => warm.Any(w => !w.Rows[i].Tokens.SequenceEqual(warmContinuous.Rows[i].Tokens)));
            Console.WriteLine($"rows equal across the four: {requests - mismatched}/{requests}; decode steps: continuous {warm[0].Steps}, static {warm[2].Steps}; " +
                $"prefill Runs: continuous {warm[0].Prefills} (alone {warm[1].Prefills}), static {warm[2].Prefills} (alone {warm[3].Prefills})");
            var measured = configs.Select(_ => new List<double>()).ToArray();
            var perCpu = configs.Select(_ => new List<double>()).ToArray();
            for (var r = 0; r < rounds; r++)
            {
                // Forward on odd rounds, backward on even ones: no config always runs right after the same other one.
                foreach (var k in r % 2 == 0 ? Enumerable.Range(0, configs.Length) : Enumerable.Range(0, configs.Length).Reverse())
                {
                    var run = await Loop(configs[k].Continuous, configs[k].Together);
                    measured[k].Add(run.TokensPerSecond);
                    perCpu[k].Add(run.TokensPerCpuSecond);
                }
                Console.WriteLine($"round {r + 1}: " + string.Join(", ", configs.Select((c, k) => $"{c.Name} {measured[k][^1]:F0}")) + " tok/s");
            }
            var c = measured[0];
            var s = measured[2];
            using (var genai = GenAiEngine.Load(new GenerateOptions(files.Directory) { MaxBatch = maxBatch }, model))
            {
                genai.Generate(work, CancellationToken.None);
                var clock = Stopwatch.StartNew();
                var rows = genai.Generate(work, CancellationToken.None);
                var agree = Enumerable.Range(0, requests).Count(i => rows[i].Tokens.SequenceEqual(warmContinuous.Rows[i].Tokens));
                Console.WriteLine($"genai static batches (reference): {rows.Sum(r => r.Tokens.Count) / clock.Elapsed.TotalSeconds:F0} tok/s, rows equal to continuous: {agree}/{requests}");
            }
            Console.WriteLine("median: " + string.Join(", ", configs.Select((cfg, k) => $"{cfg.Name} {Median(measured[k]):F0}")) + " tok/s");
            Console.WriteLine("median per CPU second: " + string.Join(", ", configs.Select((cfg, k) => $"{cfg.Name} {Median(perCpu[k]):F0}")) + " tok");
            Console.WriteLine($"prefill together/alone per CPU second: continuous {Median(perCpu[0]) / Median(perCpu[1]):F2}, static {Median(perCpu[2]) / Median(perCpu[3]):F2}");
            Console.WriteLine($"prefill together/alone: continuous {Median(c) / Median(measured[1]):F2}, static {Median(s) / Median(measured[3]):F2}; " +
                $"continuous/static with prefill alone {Median(measured[1]) / Median(measured[3]):F2}");
            Console.WriteLine($"ratio: continuous/static {Median(c) / Median(s):F2}");
            return mismatched == 0 ? 0 : 1;
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
