using Apache.Arrow;
using Sluice.Cluster.Files;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Execution.Runtime;
using Sluice.Inference;
using Sluice.Plan;

namespace Sluice.Cluster.Tests.Files;

/// <summary>
/// A job's model and vocabulary reach a worker that cannot open them: the driver sends them, by hash, into the worker's
/// cache, once per node however many actors load them; a damaged cached copy is fetched again.
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class JobFileShippingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private static readonly string[] Texts =
        ["a cat sat on the mat", "batch inference on a cluster", "the model travels by hash", "vocabularies too",
         "sent once per node", "not once per actor", "a flipped byte is caught", "and fetched again"];

    /// <summary>MiniLM over <see cref="Texts"/>: tokenize (one actor), embed (two actors): both sets of files on the worker.</summary>
    private static Dataset Job(string model, string vocab) =>
        Dataset.FromItems(Texts.Select((t, i) => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = (long)i, ["text"] = t }),
                new ReadOptions { BlockRows = 4 }, tasks: 2)
            .MapBatches<BertTokenizeProcessor, BertTokenizeOptions>(new BertTokenizeOptions(vocab, "text", 32),
                new MapBatchesOptions { Name = "tokenize", Pool = new PoolSize(1, 1), Resources = new ResourceRequest(Cpus: 0.5) })
            .MapBatches<OnnxProcessor, OnnxOptions>(new OnnxOptions(model) { Pooling = Pooling.Mean },
                new MapBatchesOptions { Name = "embed", BatchSize = 4, Pool = new PoolSize(2, 2), Resources = new ResourceRequest(Cpus: 0.5) });

    private static async Task<SortedDictionary<long, float[]>> EmbeddingsAsync(Dataset job, IWorkerRuntime? runtime)
    {
        var rows = new SortedDictionary<long, float[]>();
        using var timeout = new CancellationTokenSource(Limit);
        await foreach (var batch in job.IterateBatchesAsync(new ExecutionOptions { Runtime = runtime }, timeout.Token))
        {
            var ids = (Int64Array)batch.Column("id");
            var vectors = (FixedSizeListArray)batch.Column("embedding");
            var size = ((Apache.Arrow.Types.FixedSizeListType)vectors.Data.DataType).ListSize;
            var elements = TensorColumns.Elements<float>(vectors);
            for (var i = 0; i < batch.Length; i++) rows.Add(ids.GetValue(i)!.Value, elements.Slice(i * size, size).ToArray());
        }
        return rows;
    }

    private static void AssertSame(SortedDictionary<long, float[]> expected, SortedDictionary<long, float[]> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (id, vector) in expected) Assert.Equal(vector, actual[id]);
    }

    [Fact]
    public async Task Job_ModelTheWorkerCannotOpen_ShippedOncePerNodeAndOutputEqualsEmbedded()
    {
        await using var cluster = await ShippingCluster.StartAsync("--cpus", "2", "--memory", "2GiB");
        var model = ShippingCluster.Relative(cluster.Model.Model);
        var vocab = ShippingCluster.Relative(cluster.Model.Vocab);
        Assert.False(File.Exists(Path.Combine(cluster.WorkerDirectory, model)));
        var embedded = await EmbeddingsAsync(Job(model, vocab), null);

        var onCluster = await EmbeddingsAsync(Job(model, vocab), cluster.Runtime);

        AssertSame(embedded, onCluster);
        Assert.Equal(Texts.Length, onCluster.Count);
        var modelBytes = new FileInfo(cluster.Model.Model).Length;
        var vocabBytes = new FileInfo(cluster.Model.Vocab).Length;
        // Two embed actors on the node loaded the model: it came once.
        Assert.Equal(modelBytes + vocabBytes, await cluster.WorkerFileBytesAsync());
        var cached = Directory.GetFiles(cluster.CacheDirectory, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(cluster.CacheDirectory, f)).Order().ToList();
        Assert.Equal(new[] { $"{Sha(cluster.Model.Model)}/model.onnx", $"{Sha(cluster.Model.Vocab)}/vocab.txt" }.Order(), cached);
    }

    [Fact]
    public async Task Job_CachedModelDamaged_FetchedAgainAndOutputUnchanged()
    {
        await using var cluster = await ShippingCluster.StartAsync("--cpus", "2", "--memory", "2GiB");
        var job = Job(cluster.Model.Model, cluster.Model.Vocab);
        var first = await EmbeddingsAsync(job, cluster.Runtime);
        var fetched = await cluster.WorkerFileBytesAsync();
        var cachedModel = Path.Combine(cluster.CacheDirectory, Sha(cluster.Model.Model), "model.onnx");
        // One byte flipped in the middle of the weights: same length, different hash.
        await using (var file = new FileStream(cachedModel, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = file.Length / 2;
            var b = (byte)file.ReadByte();
            file.Position = file.Length / 2;
            file.WriteByte((byte)(b ^ 0x5A));
        }

        var second = await EmbeddingsAsync(job, cluster.Runtime);

        AssertSame(first, second);
        Assert.Equal(fetched + new FileInfo(cluster.Model.Model).Length, await cluster.WorkerFileBytesAsync());
        Assert.Equal(Sha(cluster.Model.Model), JobFileSources.Hash(cachedModel));
    }

    [Fact]
    public async Task Job_ModelMissingOnTheDriver_FailsNamingStageOptionAndPath()
    {
        await using var cluster = await ShippingCluster.StartAsync("--cpus", "2", "--memory", "2GiB");
        var missing = Path.Combine(cluster.Model.Directory, "no-such-model.onnx");

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => Job(missing, cluster.Model.Vocab).CountAsync(new ExecutionOptions { Runtime = cluster.Runtime }).WaitAsync(Limit));

        Assert.Contains($"stage 'embed': Model: '{missing}' does not exist on the driver", e.Message);
    }

    [Fact]
    public async Task ReadAsync_HashTheDriverDidNotRegister_NotServed()
    {
        // The driver alone: it serves its own files, and nothing else of its disk.
        using var redis = await RedisServer.StartAsync();
        await using var driver = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"driver-{Guid.NewGuid():N}"[..14] });
        var dir = Path.Combine(Path.GetTempPath(), $"sluice-serve-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var vocabPath = Path.Combine(dir, "vocab.txt");
            var secretPath = Path.Combine(dir, "secret.txt");
            await File.WriteAllTextAsync(vocabPath, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");
            await File.WriteAllTextAsync(secretPath, "not for workers");
            var source = driver.Grains.GetGrain<IFileSourceGrain>(driver.NodeId);
            var registered = await driver.RegisterJobFilesAsync("tokenize", ProcessorDescriptor.Of<BertTokenizeProcessor, BertTokenizeOptions>(new BertTokenizeOptions(vocabPath)));

            var secret = await source.ReadAsync(Sha(secretPath), 0);
            var vocab = await source.ReadAsync(registered.Single().Sha256, 0);

            Assert.False(secret.Served);
            Assert.Empty(secret.Data);
            Assert.True(vocab.Served);
            Assert.Equal(await File.ReadAllBytesAsync(vocabPath), vocab.Data);
            Assert.Equal(new JobFileEntry("Vocab", Sha(vocabPath), vocab.TotalBytes, "vocab.txt"), registered.Single());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Job_ModelWithExternalData_RefusedNamingTheLimitation()
    {
        await using var cluster = await ShippingCluster.StartAsync("--cpus", "2", "--memory", "2GiB");
        var model = ExternalDataModel.Write(cluster.Model.Model, Path.Combine(cluster.Model.Directory, "external"));
        // It runs where the data file lies beside it.
        var embedded = await EmbeddingsAsync(Job(model, cluster.Model.Vocab), null);

        var e = await Assert.ThrowsAnyAsync<SluiceException>(() => EmbeddingsAsync(Job(model, cluster.Model.Vocab), cluster.Runtime));

        Assert.Equal(Texts.Length, embedded.Count);
        Assert.Contains("External data path does not exist", e.Message);
        Assert.Contains("stage 'embed' on node " + cluster.Worker.NodeId + " loads Model (model.onnx) from the copy the driver sent", e.Message);
        Assert.Contains("ONNX external data (weights in a file beside the model) is not supported on a cluster yet", e.Message);
    }

    private static string Sha(string path) => JobFileSources.Hash(path);
}
