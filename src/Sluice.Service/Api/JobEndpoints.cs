using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Sluice.Jobs;
using Sluice.Service.History;
using Sluice.Service.Queue;

namespace Sluice.Service.Api;

/// <summary>
/// The REST API under <c>/api/jobs</c> (every route needs a bearer token). JSON shapes: <see cref="JobView"/>; errors:
/// <see cref="Problems"/>.
/// </summary>
internal static class JobEndpoints
{
    /// <summary>The largest spec accepted: a spec is a page of YAML, not data.</summary>
    private const int MaxSpecBytes = 1 << 20;

    public static void Map(IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/jobs").WithTags("jobs");
        jobs.MapPost("/", SubmitAsync).WithSummary("submit a job: the body is its spec, YAML or JSON (the CLI's job file)")
            .Produces<JobView>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest);
        jobs.MapGet("/", List).WithSummary("the jobs, newest first; ?state=running filters (without spec and snapshot)").Produces<JobView[]>();
        jobs.MapGet("/{id}", Show).WithSummary("a job: spec, state, per-stage snapshot, progress, error").Produces<JobView>().ProducesProblem(StatusCodes.Status404NotFound);
        jobs.MapPost("/{id}/cancel", Cancel).WithSummary("stop a queued or running job (committed output stays)").Produces<JobView>().ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapPost("/{id}/resume", Resume).WithSummary("run a failed, cancelled or interrupted job again, writing only what is missing").Produces<JobView>().ProducesProblem(StatusCodes.Status409Conflict);
        jobs.MapGet("/{id}/events", EventsAsync).WithSummary("server-sent events: 'snapshot' with the job every ~500 ms while it lives, then 'end' with the final job").Produces(200, contentType: "text/event-stream");
        jobs.MapGet("/{id}/log", Log).WithSummary("the job's log: service decisions, the engine's scaling decisions and retries, one per line").Produces<string>(200, "text/plain");
    }

    private static async Task<IResult> SubmitAsync(HttpRequest request, JobManager manager, TimeProvider time, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var buffer = new char[MaxSpecBytes + 1];
        var read = await reader.ReadBlockAsync(buffer, ct).ConfigureAwait(false);
        if (read > MaxSpecBytes) return Problems.BadRequest("the spec is too large", $"a job spec is at most {MaxSpecBytes / 1024} KiB");
        var text = new string(buffer, 0, read);
        if (string.IsNullOrWhiteSpace(text)) return Problems.BadRequest("no spec", "the request body is the job spec, YAML or JSON (see examples/)");
        try
        {
            // Binding reads model graphs and input schemas: off the request's thread.
            var entry = await Task.Run(() => manager.Submit(text), ct).ConfigureAwait(false);
            return Results.Created($"/api/jobs/{entry.Row.Id}", View(manager, entry, time, full: true));
        }
        catch (SpecException e)
        {
            return Problems.InvalidSpec(e);
        }
        catch (SluiceException e)
        {
            return Problems.Failed(e.Message);
        }
    }

    private static IResult List(JobManager manager, TimeProvider time, string? state = null)
    {
        JobState? filter = null;
        if (state is not null)
        {
            if (!JobStates.TryParse(state, out var s))
                return Problems.BadRequest("unknown state", $"state '{state}' is not accepted; give one of: {string.Join(", ", Enum.GetValues<JobState>().Select(v => v.Name()))}");
            filter = s;
        }
        return Results.Ok(manager.List(filter).Select(j => View(manager, j, time, full: false)).ToList());
    }

    private static IResult Show(string id, JobManager manager, TimeProvider time) =>
        manager.Find(id) is { } entry ? Results.Ok(View(manager, entry, time, full: true)) : Problems.NotFound(id);

    private static IResult Cancel(string id, JobManager manager, TimeProvider time)
    {
        if (manager.Find(id) is not { } entry) return Problems.NotFound(id);
        return manager.Cancel(entry) is { } refused ? Problems.Conflict(refused) : Results.Ok(View(manager, entry, time, full: true));
    }

    private static async Task<IResult> Resume(string id, JobManager manager, TimeProvider time, CancellationToken ct)
    {
        if (manager.Find(id) is not { } entry) return Problems.NotFound(id);
        try
        {
            var refused = await Task.Run(() => manager.Resume(entry), ct).ConfigureAwait(false);
            return refused is not null ? Problems.Conflict(refused) : Results.Ok(View(manager, entry, time, full: true));
        }
        catch (SpecException e)
        {
            return Problems.InvalidSpec(e);
        }
        catch (SluiceException e)
        {
            return Problems.Failed(e.Message);
        }
    }

    private static async Task EventsAsync(string id, HttpContext context, JobManager manager, TimeProvider time, ServiceOptions options)
    {
        var ct = context.RequestAborted;
        if (manager.Find(id) is not { } entry)
        {
            await Problems.NotFound(id).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        // Proxies (nginx) buffer responses by default: an event stream must not wait in a buffer.
        context.Response.Headers["X-Accel-Buffering"] = "no";
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var view = View(manager, entry, time, full: true);
                var final = view.State.IsFinal();
                await context.Response.WriteAsync($"event: {(final ? "end" : "snapshot")}\ndata: {JsonSerializer.Serialize(view, ApiJson.Options)}\n\n", ct).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(ct).ConfigureAwait(false);
                if (final) return;
                await Task.Delay(options.EventInterval, time, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static IResult Log(string id, JobManager manager) =>
        manager.Find(id) is { } entry ? Results.Text(string.Join('\n', entry.Log.Lines()) + "\n", "text/plain; charset=utf-8") : Problems.NotFound(id);

    private static JobView View(JobManager manager, JobEntry entry, TimeProvider time, bool full)
    {
        var (row, live) = manager.Read(entry);
        return JobView.Of(row, live, time.GetUtcNow(), full);
    }
}
