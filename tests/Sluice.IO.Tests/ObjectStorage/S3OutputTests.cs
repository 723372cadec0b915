using System.Text;
using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.IO.ObjectStorage;
using Sluice.Testing.ObjectStorage;
using static Sluice.IO.Tests.Samples;

namespace Sluice.IO.Tests.ObjectStorage;

/// <summary>
/// Outputs written to a real S3 server (s3rver): the same exactly-once protocol as a local directory (part uploaded, then
/// the manifest that records it, _SUCCESS last); a "kill" leaves uploads no manifest names, which a resume deletes; parts
/// replaced behind the job's back are found by size and recorded SHA-256; a second run is kept out by the lease.
/// </summary>
public sealed class S3OutputTests(S3rverFixture fixture) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempDir _cache = new();
    private readonly string _prefix = $"out-{Guid.NewGuid():N}"[..12];
    private S3rver Server => fixture.Server;

    public void Dispose() => _cache.Dispose();

    private string Url => $"s3://{S3rver.Bucket}/{_prefix}";

    private JsonLinesSinkOptions JsonOptions(long? rowsPerFile = null) =>
        new() { RowsPerFile = rowsPerFile, ObjectStorage = Server.Options(_cache.Path) };

    private static OutputFingerprint Fingerprint() => new(new Dictionary<string, string> { ["read.block_rows"] = "5", ["write.format"] = "jsonl" });

    private static Block MakeBlock(int taskIndex, int seq, int rows, int firstRow) =>
        new(Batch(Rows(rows, firstRow)), new BlockLineage(taskIndex, $"in/{taskIndex}.txt", seq, firstRow));

    private static void Kill(Datasink sink) => ((IDisposable)sink).Dispose();

    private async Task<List<string>> KeysAsync() => [.. (await Server.KeysAsync(_prefix + "/")).Select(k => k[(_prefix.Length + 1)..])];

    /// <summary>The ids in the output's committed parts, read back through the S3 dataset reader (which skips _ files).</summary>
    private async Task<List<long>> IdsAsync()
    {
        var source = Sources.Remote(Url, "jsonl", local => Sources.JsonLines(local), Server.Options(_cache.Path));
        var ids = new List<long>();
        foreach (var task in await source.PlanAsync(CancellationToken.None))
        {
            await foreach (var batch in task.ReadAsync(100, CancellationToken.None))
            {
                var column = (Int64Array)batch.Column("id");
                for (var i = 0; i < batch.Length; i++) ids.Add(column.GetValue(i)!.Value);
            }
        }
        ids.Sort();
        return ids;
    }

    [Fact]
    public async Task Complete_PartsThenManifestThenSuccess_RowsReadBackOnce_StagingLeftEmpty()
    {
        var sink = Sinks.JsonLines(Url, JsonOptions(rowsPerFile: 10));
        await sink.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        for (var seq = 0; seq < 6; seq++) await sink.AppendAsync(MakeBlock(0, seq, 5, seq * 5), CancellationToken.None);
        await sink.MarkTaskCompleteAsync("in/0.txt", 6, CancellationToken.None);
        await sink.CompleteAsync(CancellationToken.None);

        var keys = await KeysAsync();
        Assert.Equal(3, keys.Count(k => k.StartsWith("part-", StringComparison.Ordinal)));
        Assert.Contains("_manifest.jsonl", keys);
        Assert.Contains("_SUCCESS", keys);
        Assert.DoesNotContain("_sluice.lock", keys); // the lease is released
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), await IdsAsync());
        var manifest = Encoding.UTF8.GetString(await Server.GetAsync($"{_prefix}/_manifest.jsonl"));
        Assert.Contains("\"kind\":\"task\"", manifest, StringComparison.Ordinal);
        Assert.Equal(3, manifest.Split('\n').Count(l => l.Contains("\"kind\":\"file\"", StringComparison.Ordinal)));
        Assert.DoesNotContain(Directory.GetFiles(_cache.Path, "*", SearchOption.AllDirectories), f => f.Contains("/.tmp/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Resume_AfterKill_DeletesUploadsNoManifestNames_AndWritesEachRowOnce()
    {
        var first = Sinks.JsonLines(Url, JsonOptions(rowsPerFile: 10));
        await first.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        for (var seq = 0; seq < 5; seq++) await first.AppendAsync(MakeBlock(0, seq, 5, seq * 5), CancellationToken.None);
        Kill(first); // two parts committed (20 rows), block 4 was in the open part
        // A kill between an upload and its manifest line leaves objects the manifest does not name.
        await Server.PutAsync($"{_prefix}/part-00000-deadbeef-00004.jsonl", Encoding.UTF8.GetBytes("{\"id\":999}\n"));
        await Server.PutAsync($"{_prefix}/_errors/part-00000-deadbeef-00004.jsonl", Encoding.UTF8.GetBytes("{}\n"));

        var resumed = Sinks.JsonLines(Url, JsonOptions(rowsPerFile: 10));
        var state = await resumed.OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);
        Assert.Equal(4, state.CommittedBlocks.Count);
        var keys = await KeysAsync();
        Assert.DoesNotContain("part-00000-deadbeef-00004.jsonl", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("_errors/", StringComparison.Ordinal));
        for (var seq = 0; seq < 6; seq++)
        {
            var block = MakeBlock(0, seq, 5, seq * 5);
            if (!state.CommittedBlocks.Contains(Datasink.BlockKey(block.Lineage))) await resumed.AppendAsync(block, CancellationToken.None);
        }
        await resumed.CompleteAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), await IdsAsync());
    }

    [Fact]
    public async Task Resume_PartReplacedBehindTheJobsBack_IsForgottenAndWrittenAgain()
    {
        var first = Sinks.JsonLines(Url, JsonOptions(rowsPerFile: 5));
        await first.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        for (var seq = 0; seq < 2; seq++) await first.AppendAsync(MakeBlock(0, seq, 5, seq * 5), CancellationToken.None);
        Kill(first);
        var part = (await KeysAsync()).First(k => k.StartsWith("part-", StringComparison.Ordinal));
        var bytes = await Server.GetAsync($"{_prefix}/{part}");
        // Same size, other bytes, uploaded by someone else (no recorded checksum): not the committed part.
        bytes[^2] = (byte)'7';
        await Server.PutAsync($"{_prefix}/{part}", bytes);

        var state = await Sinks.JsonLines(Url, JsonOptions(rowsPerFile: 5)).OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);

        Assert.Single(state.CommittedBlocks);
        Assert.DoesNotContain(part, await KeysAsync());
    }

    [Fact]
    public async Task Open_WhileAnotherRunHoldsTheOutput_IsRefusedNamingIt_ThenTakenOnceReleased()
    {
        var holder = Sinks.JsonLines(Url, JsonOptions() with { ObjectStorage = Server.Options(Path.Combine(_cache.Path, "a")) });
        await holder.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);

        // Another staging directory, as another machine would have: only the lease object can refuse it.
        var other = Sinks.JsonLines(Url, JsonOptions() with { ObjectStorage = Server.Options(Path.Combine(_cache.Path, "b")) });
        var e = await Assert.ThrowsAsync<SluiceException>(() => other.OpenAsync(WriteMode.Overwrite, Fingerprint(), null, CancellationToken.None).AsTask());
        Assert.Contains($"pid {Environment.ProcessId}", e.Message, StringComparison.Ordinal);
        Assert.Contains("another run", e.Message, StringComparison.Ordinal);

        await holder.CompleteAsync(CancellationToken.None);
        await other.OpenAsync(WriteMode.Overwrite, Fingerprint(), null, CancellationToken.None);
        await other.CompleteAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Open_LeaseOfAProcessOfThisMachineThatIsGone_IsTakenOver()
    {
        var bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        var pidNs = new FileInfo("/proc/self/ns/pid").LinkTarget;
        var lease = $$"""{"token":"t1","pid":{{int.MaxValue - 7}},"host":"{{Environment.MachineName}}","boot_id":"{{bootId}}","pid_ns":"{{pidNs}}","process_start":"2026-01-01T00:00:00.0000000Z"}""";
        await Server.PutAsync($"{_prefix}/_sluice.lock", Encoding.UTF8.GetBytes(lease));

        var sink = Sinks.JsonLines(Url, JsonOptions());
        await sink.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        await sink.CompleteAsync(CancellationToken.None);

        Assert.Contains("_SUCCESS", await KeysAsync());
    }

    [Fact]
    public async Task Open_LeaseOfAGoneProcessInAnotherPidNamespaceOfThisHost_IsNotTakenBeforeItExpires()
    {
        // Same host name, another container (pid namespace): its pid says nothing here, so only expiry frees the output.
        var lease = $$"""{"token":"t2","pid":{{int.MaxValue - 7}},"host":"{{Environment.MachineName}}","boot_id":"other-boot","pid_ns":"pid:[1]","process_start":"2026-01-01T00:00:00.0000000Z"}""";
        await Server.PutAsync($"{_prefix}/_sluice.lock", Encoding.UTF8.GetBytes(lease));

        var e = await Assert.ThrowsAsync<SluiceException>(() => Sinks.JsonLines(Url, JsonOptions()).OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None).AsTask());

        Assert.Contains("expires", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lease_TakenByAnotherRun_IsLostAtTheNextRenewal_NoMoreCommits_AndNotDeletedOnRelease()
    {
        using var s3 = new S3ObjectStore(Server.Options(_cache.Path));
        var key = $"{_prefix}/_sluice.lock";
        var lease = S3OutputLease.Acquire(s3, S3rver.Bucket, key, Url);
        lease.EnsureHeld();
        // Another run took the output (this one was paused past its lease, say).
        var theirs = $$"""{"token":"theirs","pid":1,"host":"elsewhere","process_start":"2026-01-01T00:00:00.0000000Z"}""";
        await Server.PutAsync(key, Encoding.UTF8.GetBytes(theirs));

        lease.RenewNow();

        var e = Assert.Throws<SluiceException>(lease.EnsureHeld);
        Assert.Contains("another run took its lease (pid 1 on elsewhere", e.Message, StringComparison.Ordinal);
        lease.Dispose();
        Assert.Equal(theirs, Encoding.UTF8.GetString(await Server.GetAsync(key))); // not overwritten, not deleted
    }

    [Fact]
    public async Task Overwrite_DeletesTheOldPartsManifestAndSuccess()
    {
        var first = Sinks.JsonLines(Url, JsonOptions());
        await first.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        await first.AppendAsync(MakeBlock(0, 0, 5, 0), CancellationToken.None);
        await first.CompleteAsync(CancellationToken.None);
        var e = await Assert.ThrowsAsync<SluiceException>(() => Sinks.JsonLines(Url, JsonOptions()).OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None).AsTask());
        Assert.Contains("already holds output (1 part files, a manifest)", e.Message, StringComparison.Ordinal);

        var again = Sinks.JsonLines(Url, JsonOptions());
        await again.OpenAsync(WriteMode.Overwrite, Fingerprint(), null, CancellationToken.None);
        Assert.Equal(["_manifest.jsonl", "_sluice.lock"], await KeysAsync()); // the new run's fingerprint and lease only
        await again.AppendAsync(MakeBlock(1, 0, 3, 100), CancellationToken.None);
        await again.CompleteAsync(CancellationToken.None);

        Assert.Equal([100L, 101, 102], await IdsAsync());
    }

    [Fact]
    public async Task Open_OutputPrefixHoldsAnInputObject_IsRefusedBeforeAnythingIsWritten()
    {
        var inputs = new DatasourceInputs([new InputFile($"{Url}/data.jsonl", 10, DateTime.UnixEpoch)], []);

        var e = await Assert.ThrowsAsync<SluiceException>(() => Sinks.JsonLines(Url, JsonOptions()).OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), inputs, CancellationToken.None).AsTask());

        Assert.Contains("inside the job's input", e.Message, StringComparison.Ordinal);
        Assert.Empty(await KeysAsync());
    }

    [Fact]
    public async Task Parquet_LargePartUploadedInPieces_ResumeKeepsTheFirstPartsSchema()
    {
        // 24 MiB of incompressible bytes: above the transfer utility's 16 MiB multipart threshold.
        var random = new Random(7);
        Block Blob(int seq)
        {
            var blobs = new BinaryArray.Builder();
            var ids = new Int64Array.Builder();
            for (var i = 0; i < 12; i++)
            {
                var bytes = new byte[1 << 20];
                random.NextBytes(bytes);
                blobs.Append(bytes.AsSpan());
                ids.Append(seq * 12 + i);
            }
            var batch = new RecordBatch(new Schema([new Field("id", Apache.Arrow.Types.Int64Type.Default, false), new Field("blob", Apache.Arrow.Types.BinaryType.Default, true)], null), [ids.Build(), blobs.Build()], 12);
            return new Block(batch, new BlockLineage(0, "in/0.bin", seq, seq * 12));
        }
        var options = new ParquetSinkOptions { Compression = ParquetCompression.None, ObjectStorage = Server.Options(_cache.Path) };
        var first = Sinks.Parquet(Url, options);
        await first.OpenAsync(WriteMode.ErrorIfExists, Fingerprint(), null, CancellationToken.None);
        await first.WriteAsync(Blob(0), CancellationToken.None);
        await first.WriteAsync(Blob(1), CancellationToken.None);
        Kill(first);

        var resumed = Sinks.Parquet(Url, options);
        var state = await resumed.OpenAsync(WriteMode.Resume, Fingerprint(), null, CancellationToken.None);
        Assert.Equal(2, state.CommittedBlocks.Count);
        await resumed.WriteAsync(Blob(2), CancellationToken.None);
        await resumed.CompleteAsync(CancellationToken.None);

        var source = Sources.Remote(Url, "parquet", local => Sources.Parquet(local), Server.Options(_cache.Path));
        var ids = new List<long>();
        foreach (var task in await source.PlanAsync(CancellationToken.None))
        {
            await foreach (var batch in task.ReadAsync(100, CancellationToken.None))
            {
                Assert.Equal(1 << 20, ((BinaryArray)batch.Column("blob")).GetBytes(0).Length);
                var column = (Int64Array)batch.Column("id");
                for (var i = 0; i < batch.Length; i++) ids.Add(column.GetValue(i)!.Value);
            }
        }
        Assert.Equal(Enumerable.Range(0, 36).Select(i => (long)i), ids.Order());
    }
}
