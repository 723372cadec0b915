using System.Text.Json;
using Apache.Arrow;
using Sluice.Execution;
using Sluice.Jobs;
using Sluice.Testing.ObjectStorage;

namespace Sluice.Cluster.Tests.Files;

/// <summary>
/// A job spec whose model and vocabulary are s3:// URLs, run on a cluster: the driver fetches each object once into its
/// object cache while the spec binds, and the job-file shipping carries the cached copies to the worker unchanged.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class ObjectFileShippingTests
{
    private static readonly string[] Texts = ["a model kept in object storage", "fetched once by the driver", "shipped to the worker by hash", "the same vectors"];

    [Fact]
    public async Task Job_ModelAndVocabOnS3_FetchedByTheDriverShippedToTheWorkerOutputEqualsEmbedded()
    {
        using var s3 = S3rver.Start();
        await using var cluster = await ShippingCluster.StartAsync("--cpus", "2", "--memory", "2GiB");
        await s3.PutFileAsync("minilm/model.onnx", cluster.Model.Model);
        await s3.PutFileAsync("minilm/vocab.txt", cluster.Model.Vocab);
        var dir = Path.Combine(Path.GetTempPath(), $"sluice-objects-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var input = Path.Combine(dir, "docs.jsonl");
            await File.WriteAllLinesAsync(input, Texts.Select((t, i) => JsonSerializer.Serialize(new { id = i, text = t })));
            var yaml = $$"""
                read: { format: jsonl, path: {{input}}, block_rows: 2 }
                stages:
                  - { name: tokenize, op: bert_tokenize, vocab: "s3://models/minilm/vocab.txt", max_length: 32, resources: { cpus: 0.5 } }
                  - { name: embed, op: onnx, model: "s3://models/minilm/model.onnx", pooling: mean, batch_size: 2, pool: { min: 1, max: 1 }, resources: { cpus: 0.5 } }
                write: { format: parquet, path: {{Path.Combine(dir, "out")}} }
                """;
            var spec = JobSpecParser.Parse(yaml, "job.yaml", new SpecOptions { ObjectFiles = s3.Options(Path.Combine(dir, "cache")), OnCluster = true });

            var embedded = await EmbeddingsAsync(spec.Dataset(), null);
            var onCluster = await EmbeddingsAsync(spec.Dataset(), cluster.Runtime);

            Assert.Equal(Texts.Length, onCluster.Count);
            Assert.Equal(embedded.Keys, onCluster.Keys);
            foreach (var (id, vector) in embedded) Assert.Equal(vector, onCluster[id]);
            Assert.Equal(new FileInfo(cluster.Model.Model).Length + new FileInfo(cluster.Model.Vocab).Length, await cluster.WorkerFileBytesAsync());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<SortedDictionary<long, float[]>> EmbeddingsAsync(Dataset job, Sluice.Execution.Runtime.IWorkerRuntime? runtime)
    {
        var rows = new SortedDictionary<long, float[]>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await foreach (var batch in job.IterateBatchesAsync(new ExecutionOptions { Runtime = runtime }, timeout.Token))
        {
            var ids = (Int64Array)batch.Column("id");
            var vectors = (FixedSizeListArray)batch.Column("embedding");
            for (var i = 0; i < batch.Length; i++) rows.Add(ids.GetValue(i)!.Value, ((FloatArray)vectors.GetSlicedValues(i)).Values.ToArray());
        }
        return rows;
    }
}
