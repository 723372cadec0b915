using System.CommandLine;
using Sluice.Jobs;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Inference;
using Sluice.Cli.Output;

namespace Sluice.Cli.Commands;

/// <summary>The CLI's commands: parsing and printing only; the work is the library's.</summary>
internal static class Commands
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Invalid = 2;
    public const int Cancelled = 130;

    private static Argument<string> JobArgument() => new("job") { Description = "the job spec (YAML)" };

    private static Option<string[]> SetOption() => new("--set")
    {
        Description = "override a spec field: key=value, e.g. stages.embed.batch_size=32 or write.path=out/x (repeatable)",
        DefaultValueFactory = _ => [],
    };

    private static Option<int?> SimGpusOption() => new("--sim-gpus") { Description = "give this node N simulated GPUs (simulate stages; onnx stages run on the CPU holding one); same as --set execution.sim_gpus=N" };

    private static Option<string?> SimGpuMemoryOption() => new("--sim-gpu-memory") { Description = "memory of each simulated GPU, e.g. 64MiB: a model whose weights exceed it must be partitioned; same as --set execution.sim_gpu_memory=64MiB" };

    private static string[] Overrides(ParseResult parse, Option<string[]> set, Option<int?> sim, Option<string?> simMemory)
    {
        var all = new List<string>(parse.GetValue(set)!);
        if (parse.GetValue(sim) is { } n) all.Add($"execution.sim_gpus={n}");
        if (parse.GetValue(simMemory) is { } m) all.Add($"execution.sim_gpu_memory={m}");
        return [.. all];
    }

    public static Command Run()
    {
        var job = JobArgument();
        var set = SetOption();
        var sim = SimGpusOption();
        var simMemory = SimGpuMemoryOption();
        var resume = new Option<bool>("--resume") { Description = "continue a stopped job: keep committed output, write only what is missing" };
        var overwrite = new Option<bool>("--overwrite") { Description = "replace existing output" };
        var quiet = new Option<bool>("--quiet") { Description = "no live progress" };
        var cluster = ClusterCommands.ClusterOption();
        var passwordFile = ClusterCommands.RedisPasswordFileOption();
        var redisCa = ClusterCommands.RedisCaOption();
        var workers = ClusterCommands.WorkersOption();
        var fast = ClusterCommands.FastFailureOption();
        var listen = ClusterCommands.ListenOption();
        var advertise = ClusterCommands.AdvertiseOption();
        var tlsCa = ClusterCommands.TlsCaOption();
        var tlsCert = ClusterCommands.TlsCertOption();
        var ops = OpsAssemblies.Option();
        var autoscale = AutoscaleSession.Option();
        var verbose = MetricsExport.VerboseOption();
        var logLevel = MetricsExport.LogLevelOption();
        var metrics = MetricsExport.PrometheusOption();
        var otlp = MetricsExport.OtlpOption();
        var linger = MetricsExport.LingerOption();
        var command = new Command("run", "run a job")
        {
            job, set, sim, simMemory, resume, overwrite, quiet, verbose, logLevel, metrics, otlp, linger, cluster, passwordFile, redisCa, listen, advertise, workers, fast, tlsCa, tlsCert, ops, autoscale,
        };
        command.SetAction((parse, ct) => Guard(async () =>
        {
            var spec = JobSpecParser.ParseFile(parse.GetValue(job)!,
                new SpecOptions { Overrides = Overrides(parse, set, sim, simMemory), OnCluster = parse.GetValue(cluster) is not null, Registry = OpsAssemblies.Registry(parse.GetValue(ops)!) });
            WriteMode? mode = parse.GetValue(resume) ? WriteMode.Resume : parse.GetValue(overwrite) ? WriteMode.Overwrite : null;
            var scaling = AutoscaleSession.Load(parse.GetValue(autoscale), spec);
            var log = MetricsExport.Log(parse.GetValue(verbose), parse.GetValue(logLevel));
            using var exporters = MetricsExport.Start(parse.GetValue(metrics), parse.GetValue(otlp), "sluice-run");
            // With an autoscaler the job may start on no worker at all: it adds them for the job's demand.
            var waitFor = parse.GetResult(workers) is { Implicit: false } ? parse.GetValue(workers) : scaling is null ? parse.GetValue(workers) : 0;
            var stats = await ClusterCommands.WithRuntimeAsync(parse.GetValue(cluster), parse.GetValue(passwordFile), waitFor, parse.GetValue(fast),
                ClusterCommands.Tls(parse.GetValue(tlsCa), parse.GetValue(tlsCert)),
                runtime => JobRunner.RunAsync(spec, spec.Dataset(), mode, parse.GetValue(quiet), ct, runtime, scaling, log), ct, parse.GetValue(listen), parse.GetValue(advertise), scaling, parse.GetValue(redisCa)).ConfigureAwait(false);
            Console.WriteLine($"wrote {stats.Operators[^1].RowsOut:N0} rows to {spec.Write.Path}");
            foreach (var warning in stats.Warnings) await Console.Error.WriteLineAsync($"warning: {warning.Message}").ConfigureAwait(false);
            await MetricsExport.LingerAsync(parse.GetValue(metrics), parse.GetValue(linger), ct).ConfigureAwait(false);
            return Ok;
        }));
        return command;
    }

    public static Command Explain()
    {
        var job = JobArgument();
        var set = SetOption();
        var sim = SimGpusOption();
        var simMemory = SimGpuMemoryOption();
        var ops = OpsAssemblies.Option();
        var command = new Command("explain", "print a job's physical plan: operators, pools, resources") { job, set, sim, simMemory, ops };
        command.SetAction((parse, ct) => Guard(() =>
        {
            // Explain has no side effects: the partition cache is made when the job starts, not here.
            var spec = JobSpecParser.ParseFile(parse.GetValue(job)!, new SpecOptions { Overrides = Overrides(parse, set, sim, simMemory), Prepare = false, Registry = OpsAssemblies.Registry(parse.GetValue(ops)!) });
            Console.WriteLine($"job '{spec.Name}'");
            Console.Write(JobExecution.Explain(spec.Dataset(), spec.Sink(), spec.Options()));
            // Job files given as URLs: explain asked the server (HEAD) and downloaded nothing; `run` fetches what is not cached.
            foreach (var file in spec.ObjectFiles)
                Console.WriteLine($"{file.Field}: {file.Url} ({(file.Length < 0 ? "size unknown" : Format.Bytes(file.Length))}; {(file.LocalPath is { } p ? $"cached at {p}" : "not cached: run downloads it")})");
            return Task.FromResult(Ok);
        }));
        return command;
    }

    /// <summary>The ops and formats a spec may name, with their fields, what each accepts and its default (the README's reference).</summary>
    public static Command Ops()
    {
        var command = new Command("ops", "list the ops and formats a job spec may name, with their fields and defaults (markdown)");
        command.SetAction(_ =>
        {
            Console.Write(SpecReference.Markdown(JobRegistry.CreateDefault()));
            return Ok;
        });
        return command;
    }

    public static Command Models()
    {
        var name = new Argument<string>("name") { Description = $"a built-in model: {string.Join(", ", PackagedModels.Names)}" };
        var outDir = new Option<string>("--out") { Description = "directory to write model.onnx (and vocab.txt for a text model) into", Required = true };
        var export = new Command("export", "write a built-in model's files (model.onnx; vocab.txt for a text model)") { name, outDir };
        export.SetAction((parse, ct) => Guard(() =>
        {
            var files = PackagedModels.Export(parse.GetValue(name)!, parse.GetValue(outDir)!);
            Console.WriteLine(files.VocabFile is null ? $"wrote {files.Model}" : $"wrote {files.Model} and {files.Vocab}");
            return Task.FromResult(Ok);
        }));
        var list = new Command("list", "list the built-in models");
        list.SetAction(_ =>
        {
            foreach (var n in PackagedModels.Names) Console.WriteLine(n);
            return Ok;
        });
        return new Command("models", "built-in models") { export, list };
    }

    public static Command Demo()
    {
        var rows = new Option<int?>("--rows") { Description = "rows to embed (default: 4000 lines of text; 192 image-caption pairs for dual-tower)" };
        var job = new Option<string?>("--job") { Description = "the job spec to run (default: examples/embed-text.yaml; examples/dual-tower.yaml for dual-tower)" };
        var example = new Option<string>("--case")
        {
            Description = "text: MiniLM over this machine's licence texts; dual-tower: ResNet18 + MiniLM in one model, split into 3 stages over simulated GPUs, over (image, caption) pairs",
            DefaultValueFactory = _ => "text",
        };
        example.AcceptOnlyFromAmong("text", "dual-tower");
        var command = new Command("demo", "set up a built-in model and a dataset from this machine, then run its job") { rows, job, example };
        command.SetAction((parse, ct) => Guard(async () =>
        {
            if (parse.GetValue(example) == "dual-tower")
                return await DualTowerDemoAsync(parse.GetValue(rows) ?? 192, parse.GetValue(job) ?? "examples/dual-tower.yaml", ct).ConfigureAwait(false);
            var files = PackagedModels.ExportMiniLm("models/minilm");
            Console.WriteLine($"model: {files.Model}");
            var (fileCount, rowCount) = DemoData.Write("data/docs", parse.GetValue(rows) ?? 4000, files: 8);
            Console.WriteLine($"data: {rowCount:N0} lines of licence text in {fileCount} files under data/docs");
            var spec = JobSpecParser.ParseFile(parse.GetValue(job) ?? "examples/embed-text.yaml", []);
            var stats = await JobRunner.RunAsync(spec, spec.Dataset(), WriteMode.Overwrite, quiet: false, ct).ConfigureAwait(false);
            Console.WriteLine($"wrote {stats.Operators[^1].RowsOut:N0} embeddings to {spec.Write.Path}");
            return Ok;
        }));
        return command;
    }

    /// <summary>The issue 5 case study: the dual-tower model, (image, caption) pairs, and its 3-stage job on simulated GPUs.</summary>
    private static async Task<int> DualTowerDemoAsync(int rows, string job, CancellationToken ct)
    {
        var files = PackagedModels.ExportDualTower("models/dual-tower");
        Console.WriteLine($"model: {files.Model} (ResNet18 image tower + MiniLM text tower, {new FileInfo(files.Model).Length / (1024 * 1024)} MiB)");
        await DemoData.WritePairsAsync("data/pairs", rows, ct).ConfigureAwait(false);
        Console.WriteLine($"data: {rows:N0} images (JPEG and PNG, 160..640 px) under data/pairs/images, their captions in data/pairs/captions.jsonl");
        var spec = JobSpecParser.ParseFile(job, []);
        var stats = await JobRunner.RunAsync(spec, spec.Dataset(), WriteMode.Overwrite, quiet: false, ct).ConfigureAwait(false);
        Console.WriteLine($"wrote {stats.Operators[^1].RowsOut:N0} image and text embeddings to {spec.Write.Path}");
        return Ok;
    }

    /// <summary>Turns failures into one clear message and an exit code; a spec error lists every problem.</summary>
    private static Task<int> Guard(Func<Task<int>> action) => GuardAsync(action);

    public static async Task<int> GuardAsync(Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (SpecException e)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return Invalid;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("stopped; rerun with --resume to continue where the job left off").ConfigureAwait(false);
            return Cancelled;
        }
        catch (SluiceException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return Failed;
        }
    }
}
