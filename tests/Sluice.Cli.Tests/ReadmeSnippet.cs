// The README's library example, compiled as written: ReadmeExampleTests checks that the README holds exactly
// the lines between the markers (the usings line included), so the two cannot drift.
// README:begin
using Sluice.IO; using Sluice.Inference; using Sluice.Execution; using Sluice.Contracts;
// README:end

namespace Sluice.Cli.Tests;

internal static class ReadmeSnippet
{
    public static async Task<Sluice.Execution.Stats.ExecutionSnapshot> RunAsync()
    {
        // README:begin
        var stats = await Read.Parquet("data/*.parquet", new() { BlockRows = 256 })
            .MapBatches(() => new BertTokenizeProcessor(new("models/minilm/vocab.txt")), "tokenize",
                        new() { Resources = ResourceRequest.None })
            .MapBatches(() => new OnnxProcessor(new("models/minilm/model.onnx") { Pooling = Pooling.Mean }), "embed",
                        new() { BatchSize = 32, Pool = new(Min: 1, Max: 2), Resources = new(Cpus: 1) })
            .WriteAsync(Sinks.Parquet("out/embeddings"));
        // README:end
        return stats;
    }
}
