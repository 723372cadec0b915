using System.Diagnostics;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Apache.Arrow;
using Sluice.IO;
using Sluice.Testing.ObjectStorage;
using Xunit.Abstractions;

namespace Sluice.Cli.Tests;

/// <summary>
/// The S3 round trip: a real `sluice run` reads its text from s3rver, embeds it with MiniLM and writes Parquet back to
/// s3rver; it is killed (SIGKILL) once parts are committed, then resumed: every row exactly once, every part object
/// named by the manifest, _SUCCESS last, no lease left behind.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class S3OutputResumeTests(ModelFiles models, ITestOutputHelper log) : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly S3rver _s3 = S3rver.Start();

    public void Dispose()
    {
        _s3.Dispose();
        _dir.Dispose();
    }

    private Process Start(string spec, params string[] extra)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sluice.dll"));
        info.ArgumentList.Add("run");
        info.ArgumentList.Add(spec);
        info.ArgumentList.Add("--quiet");
        foreach (var e in extra) info.ArgumentList.Add(e);
        // The endpoint and keys as a user gives them: the environment the AWS SDK reads.
        info.Environment["AWS_ENDPOINT_URL_S3"] = _s3.Endpoint.ToString();
        info.Environment["AWS_ACCESS_KEY_ID"] = "S3RVER";
        info.Environment["AWS_SECRET_ACCESS_KEY"] = "S3RVER";
        info.Environment["AWS_REGION"] = "us-east-1";
        info.Environment["XDG_CACHE_HOME"] = _dir["cache"];
        return Process.Start(info)!;
    }

    private async Task<string> ManifestAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return Encoding.UTF8.GetString(await _s3.GetAsync("out/_manifest.jsonl"));
            }
            catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return "";
            }
            catch (Exception e) when (attempt < 20 && e is HttpRequestException or IOException or ArgumentException or AmazonClientException)
            {
                // s3rver writes an object's file in place, so a GET while the job uploads the manifest can see it torn
                // (S3 itself shows only whole objects). Ask again.
                await Task.Delay(20);
            }
        }
    }

    private static IEnumerable<string> PartsNamed(string manifest) =>
        manifest.Split('\n').Where(l => l.Contains("\"kind\":\"file\"", StringComparison.Ordinal))
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("part").GetString()!);

    [Fact]
    public async Task Run_ReadFromAndWrittenToS3_KilledThenResumed_EveryRowExactlyOnce()
    {
        var lines = Jobs.Lines(600);
        for (var f = 0; f < 3; f++)
            await _s3.PutAsync($"docs/{f}.txt", Encoding.UTF8.GetBytes(string.Join('\n', lines.Skip(f * 200).Take(200)) + "\n"));
        var yaml = Jobs.EmbedSpec($"s3://{S3rver.Bucket}/docs", "text", models.MiniLm.Model, models.MiniLm.Vocab, $"s3://{S3rver.Bucket}/out", blockRows: 20,
            write: ", rows_per_file: 20");
        File.WriteAllText(_dir["job.yaml"], yaml);
        var clock = Stopwatch.StartNew();

        int committedAtKill;
        using (var first = Start(_dir["job.yaml"]))
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (PartsNamed(await ManifestAsync()).Count() < 4 && !first.HasExited && DateTime.UtcNow < deadline) await Task.Delay(50);
            if (first.HasExited) Assert.Fail("the job ended before it could be killed: " + await first.StandardError.ReadToEndAsync());
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
            committedAtKill = PartsNamed(await ManifestAsync()).Count();
        }
        log.WriteLine($"killed at {clock.Elapsed} with {committedAtKill} parts committed");
        Assert.InRange(committedAtKill, 4, 29);
        var keys = await _s3.KeysAsync("out/");
        Assert.DoesNotContain("out/_SUCCESS", keys);
        Assert.Contains("out/_sluice.lock", keys); // the killed run's lease: a resume on this machine takes it over at once

        using (var resumed = Start(_dir["job.yaml"], "--resume"))
        {
            var stderr = resumed.StandardError.ReadToEndAsync();
            await resumed.WaitForExitAsync();
            Assert.True(resumed.ExitCode == 0, await stderr);
        }
        log.WriteLine($"resumed by {clock.Elapsed}");

        keys = await _s3.KeysAsync("out/");
        Assert.Contains("out/_SUCCESS", keys);
        Assert.DoesNotContain("out/_sluice.lock", keys);
        var named = PartsNamed(await ManifestAsync()).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(named.Order(StringComparer.Ordinal), keys.Where(k => k.StartsWith("out/part-", StringComparison.Ordinal)).Select(k => k["out/".Length..]));

        var texts = new List<string>();
        var source = Sources.Remote($"s3://{S3rver.Bucket}/out", "parquet", local => Sources.Parquet(local), _s3.Options(_dir["read-cache"]));
        foreach (var task in await source.PlanAsync(CancellationToken.None))
        {
            await foreach (var batch in task.ReadAsync(100, CancellationToken.None))
            {
                var text = (StringArray)batch.Column("text");
                Assert.Equal(384, ((Apache.Arrow.Types.FixedSizeListType)batch.Schema.GetFieldByName("embedding").DataType).ListSize);
                for (var i = 0; i < batch.Length; i++) texts.Add(text.GetString(i));
            }
        }
        Assert.Equal(lines.Order(StringComparer.Ordinal), texts.Order(StringComparer.Ordinal));
    }
}
