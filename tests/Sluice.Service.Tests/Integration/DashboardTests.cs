using System.Diagnostics;
using System.Text.RegularExpressions;
using Sluice.Execution;

namespace Sluice.Service.Tests;

/// <summary>
/// The dashboard in a real browser: Debian's headless Chromium loads the job page of a running job from the service
/// (static files and API from the same origin, the token in the URL fragment) and the test reads the rendered DOM —
/// the stage's row, the uPlot chart, rows written counting up between two loads — and saves a screenshot.
/// </summary>
public sealed partial class DashboardTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task JobPage_RunningJob_RendersStagesAChartAndRowsCountingUp()
    {
        var chromium = Chromium();
        await using var host = await ApiHost.StartAsync(_dir, new NodeResources(2, 0, 1L << 30).WithSimulatedGpus(2));
        using var http = host.Client();
        var spec = $$"""
            name: dashboard
            read: { format: range, count: 200000, block_rows: 50 }
            stages:
              - { name: sim, op: simulate, per_row_ms: 0.2, batch_size: 50, pool: { min: 1, max: 2 }, resources: { gpus: 1 } }
            write: { format: jsonl, path: {{_dir["root/out"]}} }
            execution: { sim_gpus: 2 }
            """;
        var id = await JobsApi.SubmitAcceptedAsync(http, spec);
        var running = await JobsApi.WaitForAsync(http, id, j => j.GetProperty("progress").GetProperty("rows_done").GetInt64() > 0
            || j.GetProperty("state").GetString() is not ("queued" or "running"));
        Assert.Equal("running", running.GetProperty("state").GetString());
        var page = new Uri(host.Url, $"/#/jobs/{Uri.EscapeDataString(id)}&token={ApiHost.Token}").ToString();

        var first = await RenderAsync(chromium, page, "--dump-dom");
        await Task.Delay(TimeSpan.FromSeconds(1));
        var second = await RenderAsync(chromium, page, "--dump-dom");
        var shot = Path.Combine(_dir.Dir("shots"), "dashboard.png");
        await RenderAsync(chromium, page, $"--screenshot={shot}");

        Assert.Contains("data-stage=\"sim\"", first, StringComparison.Ordinal);
        Assert.Contains("data-stage=\"Write[", first, StringComparison.Ordinal);
        Assert.Matches("class=\"uplot", first); // the chart was drawn
        var before = RowsWritten(first);
        var after = RowsWritten(second);
        Assert.True(after > before, $"rows written did not count up: {before} then {after}");
        Assert.True(new FileInfo(shot).Length > 10_000, "the screenshot is empty");
        await http.PostAsync($"api/jobs/{id}/cancel", null);
    }

    [Fact]
    public async Task Dashboard_StaticFiles_AreServedWithoutAToken_TheApiIsNot()
    {
        await using var host = await ApiHost.StartAsync(_dir);
        using var none = host.Client(token: null);

        var index = await none.GetAsync("/");
        var script = await none.GetAsync("/app.js");
        var chart = await none.GetAsync("/vendor/uPlot.iife.min.js");

        Assert.True(index.IsSuccessStatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
        Assert.Contains("app.js", await index.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.True(chart.IsSuccessStatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await none.GetAsync("api/jobs")).StatusCode);
    }

    private static long RowsWritten(string dom) =>
        RowsWrittenPattern().Match(dom) is { Success: true } m ? long.Parse(m.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture)
        : throw new InvalidOperationException("the page shows no rows written: " + dom[..Math.Min(dom.Length, 2000)]);

    [GeneratedRegex("id=\"rows-written\">([0-9,]+)<")]
    private static partial Regex RowsWrittenPattern();


    /// <summary>Debian's chromium: real, installed by .ci/run. Without it this test cannot run and says how to get it.</summary>
    private static string Chromium() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("the dashboard test drives Debian's headless chromium: apt-get install -y chromium (.ci/run does)");

    /// <summary>Loads <paramref name="url"/> in headless Chromium, lets the page's scripts run for two seconds of virtual time, and returns stdout.</summary>
    private async Task<string> RenderAsync(string chromium, string url, string what)
    {
        var info = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--window-size=1280,900",
            $"--user-data-dir={_dir.Dir("chromium-" + Guid.NewGuid().ToString("N"))}", "--virtual-time-budget=2000", what, url })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"chromium exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
