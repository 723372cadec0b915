using System.Text;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO;
using Sluice.Jobs;
using Sluice.Testing.ObjectStorage;

namespace Sluice.Cluster.Tests.Files;

/// <summary>
/// A cluster job that reads JSON Lines from s3rver and writes Parquet back to it: MiniLM on a worker process, the output
/// committed by the driver (upload, then manifest). Every row once, each embedding equal to the embedded run's.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class S3RoundTripClusterTests
{
    [Fact]
    public async Task Job_ReadFromAndWrittenToS3_OnACluster_EveryRowOnceEqualToEmbedded()
    {
        using var s3 = S3rver.Start();
        await using var cluster = await ShippingCluster.StartAsync("--cpus", "2", "--memory", "2GiB");
        var texts = Enumerable.Range(0, 120).Select(i => $"row {i}: text kept in object storage, embedded on a worker").ToList();
        for (var f = 0; f < 2; f++)
            await s3.PutAsync($"in/{f}.jsonl", Encoding.UTF8.GetBytes(string.Concat(texts.Skip(f * 60).Take(60).Select((t, i) => $$"""{"id": {{f * 60 + i}}, "text": "{{t}}"}""" + "\n"))));
        var dir = Path.Combine(Path.GetTempPath(), $"sluice-s3-cluster-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string Yaml(string output) => $$"""
                read: { format: jsonl, path: s3://{{S3rver.Bucket}}/in, block_rows: 20 }
                stages:
                  - { name: tokenize, op: bert_tokenize, vocab: {{cluster.Model.Vocab}}, max_length: 32, resources: { cpus: 0.5 } }
                  - { name: embed, op: onnx, model: {{cluster.Model.Model}}, pooling: mean, batch_size: 10, pool: { min: 1, max: 1 }, resources: { cpus: 0.5 } }
                write: { format: parquet, path: {{output}}, rows_per_file: 40 }
                """;
            var options = new SpecOptions { ObjectFiles = s3.Options(Path.Combine(dir, "cache")), OnCluster = true };
            var onCluster = JobSpecParser.Parse(Yaml($"s3://{S3rver.Bucket}/out"), "job.yaml", options);
            using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
                await JobExecution.Start(onCluster.Dataset(), onCluster.Sink(), onCluster.Options() with { Runtime = cluster.Runtime, Resources = null }, timeout.Token).Completion;
            var embedded = JobSpecParser.Parse(Yaml(Path.Combine(dir, "local")), "job.yaml", options with { OnCluster = false });
            using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3)))
                await JobExecution.Start(embedded.Dataset(), embedded.Sink(), embedded.Options(), timeout.Token).Completion;

            var keys = await s3.KeysAsync("out/");
            Assert.Contains("out/_SUCCESS", keys);
            Assert.Equal(3, keys.Count(k => k.StartsWith("out/part-", StringComparison.Ordinal)));
            var fromS3 = await EmbeddingsAsync(Sources.Remote($"s3://{S3rver.Bucket}/out", "parquet", local => Sources.Parquet(local), s3.Options(Path.Combine(dir, "read"))));
            var local = await EmbeddingsAsync(Sources.Parquet(Path.Combine(dir, "local")));
            Assert.Equal(Enumerable.Range(0, 120).Select(i => (long)i), fromS3.Keys);
            Assert.Equal(local.Keys, fromS3.Keys);
            foreach (var (id, vector) in local) Assert.Equal(vector, fromS3[id]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<SortedDictionary<long, float[]>> EmbeddingsAsync(Datasource source)
    {
        var rows = new SortedDictionary<long, float[]>();
        foreach (var task in await source.PlanAsync(CancellationToken.None))
        {
            await foreach (var batch in task.ReadAsync(100, CancellationToken.None))
            {
                var ids = (Int64Array)batch.Column("id");
                var vectors = (FixedSizeListArray)batch.Column("embedding");
                for (var i = 0; i < batch.Length; i++) rows.Add(ids.GetValue(i)!.Value, ((FloatArray)vectors.GetSlicedValues(i)).Values.ToArray());
            }
        }
        return rows;
    }
}
