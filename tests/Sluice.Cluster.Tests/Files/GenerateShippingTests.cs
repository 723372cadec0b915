using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Inference.Generation;
using Sluice.Plan;

namespace Sluice.Cluster.Tests.Files;

/// <summary>
/// op generate on a worker that cannot open the driver's files: the decoder, its tokenizer.json and genai_config.json
/// (bos, eos, context) are shipped into the worker's cache, each in a folder of its hash, and the rows equal an embedded run.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class GenerateShippingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private static Dataset Job(GenerateOptions options) =>
        Dataset.FromItems(Enumerable.Range(0, 12).Select(i => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = (long)i, ["prompt"] = $"prompt {i}: {new string('z', i * 3)}" }),
                new ReadOptions { BlockRows = 4 }, tasks: 2)
            .MapBatches<GenerateProcessor, GenerateOptions>(options,
                new MapBatchesOptions { Name = "generate", BatchSize = 4, Pool = new PoolSize(2, 2), Resources = new ResourceRequest(Cpus: 0.5) });

    private static async Task<SortedDictionary<long, (string, int, string)>> RowsAsync(Dataset job, IWorkerRuntime? runtime)
    {
        var rows = new SortedDictionary<long, (string, int, string)>();
        using var timeout = new CancellationTokenSource(Limit);
        await foreach (var batch in job.IterateBatchesAsync(new ExecutionOptions { Runtime = runtime }, timeout.Token))
        {
            var ids = (Int64Array)batch.Column("id");
            for (var i = 0; i < batch.Length; i++)
                rows.Add(ids.GetValue(i)!.Value, (((StringArray)batch.Column("generated_text")).GetString(i), ((Int32Array)batch.Column("prompt_tokens")).GetValue(i)!.Value,
                    ((StringArray)batch.Column("finish_reason")).GetString(i)));
        }
        return rows;
    }

    [Theory]
    [InlineData(GenerateOptions.Continuous)]
    [InlineData(GenerateOptions.GenAi)]
    public async Task Generate_DecoderTheWorkerCannotOpen_ShippedWithTokenizerAndConfig_RowsEqualEmbedded(string engine)
    {
        await using var cluster = await ShippingCluster.StartAsync("--cpus", "2", "--memory", "2GiB");
        var files = TinyDecoder.Export(Path.Combine(cluster.Model.Directory, "tiny"));
        var options = new GenerateOptions(ShippingCluster.Relative(files.Model))
        {
            Tokenizer = ShippingCluster.Relative(files.Vocab),
            Config = ShippingCluster.Relative(Path.Combine(files.Directory, "genai_config.json")),
            MaxNewTokens = 10,
            MaxBatch = 3,
            Engine = engine,
        };
        Assert.False(File.Exists(Path.Combine(cluster.WorkerDirectory, options.Model)));
        var embedded = await RowsAsync(Job(options), null);

        var onCluster = await RowsAsync(Job(options), cluster.Runtime);

        Assert.Equal(12, onCluster.Count);
        Assert.Equal(embedded, onCluster);
        // The bos the config names was prepended on the worker too: bos + the prompt's bytes.
        Assert.All(onCluster, r => Assert.Equal(1 + $"prompt {r.Key}: {new string('z', (int)r.Key * 3)}".Length, r.Value.Item2));
        var cached = Directory.GetFiles(cluster.CacheDirectory, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["genai_config.json", "model.onnx", "tokenizer.json"], cached);
    }
}
