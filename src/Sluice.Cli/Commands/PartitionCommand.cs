using System.CommandLine;
using Sluice.Inference.Partitioning;

namespace Sluice.Cli.Commands;

/// <summary><c>sluice partition MODEL.onnx --stages K | --max-stage-bytes B [--balance params|latency] --out DIR</c> (issue 5).</summary>
internal static class PartitionCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "the ONNX model to cut into pipeline stages" };
        var stages = new Option<int?>("--stages") { Description = "the number of stages (at least 2)" };
        var maxBytes = new Option<string?>("--max-stage-bytes") { Description = "the most parameter bytes a stage may hold, e.g. 40MiB or 41943040: the fewest stages that fit" };
        var balance = new Option<string>("--balance")
        {
            Description = "balance stages by parameter bytes (params) or by per-node latency measured with ONNX Runtime profiling (latency)",
            DefaultValueFactory = _ => "params",
        };
        balance.AcceptOnlyFromAmong("params", "latency");
        var outDir = new Option<string>("--out") { Description = "directory to write stage*.onnx and plan.json into", Required = true };
        var command = new Command("partition", "cut an ONNX model into pipeline stages and write them with a plan") { model, stages, maxBytes, balance, outDir };
        command.SetAction((parse, ct) => Commands.GuardAsync(() =>
        {
            long? cap = null;
            if (parse.GetValue(maxBytes) is { } text)
            {
                if (!Sluice.Jobs.Binding.ByteSizes.TryParse(text, out var b) || b <= 0)
                    throw new SluiceException($"--max-stage-bytes: '{text}' is not accepted; give a positive size such as 40MiB, 2GiB or 41943040");
                cap = b;
            }
            var options = new PartitionOptions(parse.GetValue(stages), cap, parse.GetValue(balance) == "latency" ? PartitionBalance.Latency : PartitionBalance.Params);
            var plan = ModelPartitioner.Write(parse.GetValue(model)!, options, parse.GetValue(outDir)!);
            Console.Write(plan.ToTable());
            Console.WriteLine($"wrote {plan.Stages.Count} stages and {PartitionPlan.FileName} to {Path.GetFullPath(parse.GetValue(outDir)!)}");
            return Task.FromResult(Commands.Ok);
        }));
        return command;
    }
}
