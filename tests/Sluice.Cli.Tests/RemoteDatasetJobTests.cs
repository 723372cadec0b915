using System.Text;
using Apache.Arrow;
using Sluice.Cli.Commands;
using Sluice.Execution;
using Sluice.IO;
using Sluice.Jobs;
using Sluice.Testing.ObjectStorage;

namespace Sluice.Cli.Tests;

/// <summary>A job spec whose read.path is an s3:// prefix, against a real S3 server (s3rver): every row once, in a local output.</summary>
public sealed class RemoteDatasetJobTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly S3rver _s3 = S3rver.Start();

    public void Dispose()
    {
        _s3.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Run_ReadPathOnS3_WritesEveryRowOnce()
    {
        for (var f = 0; f < 3; f++)
        {
            var lines = string.Concat(Enumerable.Range(0, 200).Select(i => $$"""{"id": {{f * 1000 + i}}, "text": "row {{i}} of file {{f}}"}""" + "\n"));
            await _s3.PutAsync($"docs/part-{f}.jsonl", Encoding.UTF8.GetBytes(lines));
        }
        var yaml = $$"""
            name: remote
            read: { format: jsonl, path: s3://{{S3rver.Bucket}}/docs, block_rows: 64 }
            stages:
              - { name: sim, op: simulate, per_row_ms: 0 }
            write: { format: parquet, path: {{_dir["out"]}} }
            execution: { sim_gpus: 2 }
            """;
        var spec = JobSpecParser.Parse(yaml, "job.yaml", new SpecOptions { ObjectFiles = _s3.Options(_dir["cache"]) });
        await JobRunner.RunAsync(spec, spec.Dataset(), null, quiet: true, CancellationToken.None);

        var ids = new List<long>();
        await foreach (var batch in Read.Parquet(_dir["out"]).IterateBatchesAsync())
        {
            var column = (Int64Array)batch.Column("id");
            for (var i = 0; i < batch.Length; i++) ids.Add(column.GetValue(i)!.Value);
        }
        Assert.Equal(Enumerable.Range(0, 3).SelectMany(f => Enumerable.Range(0, 200).Select(i => (long)(f * 1000 + i))).Order(), ids.Order());
        Assert.True(File.Exists(_dir["out/_SUCCESS"]));
    }

    [Theory]
    [InlineData("https://example.com/out", "read-only")]
    [InlineData("gs://bucket/out", "'gs://' is not supported")]
    public void Parse_WritePathOfAReadOnlyOrUnknownScheme_IsRefusedBeforeAnythingRuns(string path, string says)
    {
        var yaml = $$"""
            name: remote
            read: { format: text, path: s3://{{S3rver.Bucket}}/docs }
            stages:
              - { name: sim, op: simulate, per_row_ms: 0 }
            write: { format: parquet, path: {{path}} }
            """;
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", new SpecOptions { ObjectFiles = _s3.Options(_dir["cache"]) }));
        var error = Assert.Single(e.Errors).ToString();
        Assert.Contains("write.path", error, StringComparison.Ordinal);
        Assert.Contains(says, error, StringComparison.Ordinal);
    }
}
