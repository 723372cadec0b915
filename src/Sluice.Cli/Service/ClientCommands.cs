using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Sluice.Cli.Service;

/// <summary><c>sluice submit</c> and <c>sluice jobs list|show|cancel|resume|logs</c>: the job service's client.</summary>
internal static class ClientCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static Option<string?> ServerOption() => new("--server") { Description = "the job service's URL, e.g. http://127.0.0.1:8080 (default: SLUICE_SERVER)" };

    private static Option<string?> TokenFileOption() => new("--token-file") { Description = "a file holding the API token (default: SLUICE_TOKEN)" };

    public static Command Submit()
    {
        var job = new Argument<string>("job") { Description = "the job spec (YAML or JSON); paths in it are the server's, under its roots" };
        var server = ServerOption();
        var token = TokenFileOption();
        var command = new Command("submit", "submit a job to a job service (sluice serve); prints the job's id") { job, server, token };
        command.SetAction((parse, ct) => Commands.Commands.GuardAsync(async () =>
        {
            var file = parse.GetValue(job)!;
            if (!File.Exists(file)) throw new SluiceException($"job spec '{file}' does not exist");
            using var client = Client(parse, server, token);
            var created = await client.SubmitAsync(await File.ReadAllTextAsync(file, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            Console.WriteLine(created.GetProperty("id").GetString());
            return Commands.Commands.Ok;
        }));
        return command;
    }

    public static Command Jobs()
    {
        var command = new Command("jobs", "list and manage the jobs of a job service (sluice serve)");
        var state = new Option<string?>("--state") { Description = "only jobs in this state: queued, running, succeeded, failed, cancelled, interrupted" };
        command.Subcommands.Add(Build("list", "list the jobs, newest first", [state], async (client, parse, ct) =>
        {
            var jobs = await client.ListAsync(parse.GetValue(state), ct).ConfigureAwait(false);
            Console.WriteLine($"{"ID",-24} {"NAME",-20} {"STATE",-11} {"DONE",7} {"ROWS",10}  SUBMITTED");
            foreach (var j in jobs.EnumerateArray())
            {
                var progress = j.GetProperty("progress");
                var percent = progress.GetProperty("percent") is { ValueKind: JsonValueKind.Number } p ? $"{p.GetDouble():0.#}%" : "-";
                Console.WriteLine($"{j.GetProperty("id").GetString(),-24} {Cut(j.GetProperty("name").GetString(), 20),-20} {j.GetProperty("state").GetString(),-11} {percent,7} {progress.GetProperty("rows_done").GetInt64(),10:N0}  {j.GetProperty("submitted").GetDateTimeOffset().ToString("u", CultureInfo.InvariantCulture)}");
            }
        }));
        var id = new Argument<string>("id") { Description = "the job's id (sluice jobs list)" };
        var json = new Option<bool>("--json") { Description = "print the job's JSON as the API returns it" };
        command.Subcommands.Add(Build("show", "show a job: state, progress, stages, error", [id, json], async (client, parse, ct) =>
        {
            var job = await client.ShowAsync(parse.GetValue(id)!, ct).ConfigureAwait(false);
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(job, Indented));
            else Print(job);
        }));
        var cancelId = new Argument<string>("id") { Description = "the job's id" };
        command.Subcommands.Add(Build("cancel", "stop a queued or running job (committed output stays; resume continues it)", [cancelId], async (client, parse, ct) =>
        {
            var job = await client.CancelAsync(parse.GetValue(cancelId)!, ct).ConfigureAwait(false);
            Console.WriteLine($"{job.GetProperty("id").GetString()}: cancel asked ({job.GetProperty("state").GetString()})");
        }));
        var resumeId = new Argument<string>("id") { Description = "the job's id" };
        command.Subcommands.Add(Build("resume", "run a failed, cancelled or interrupted job again, writing only what is missing", [resumeId], async (client, parse, ct) =>
        {
            var job = await client.ResumeAsync(parse.GetValue(resumeId)!, ct).ConfigureAwait(false);
            Console.WriteLine($"{job.GetProperty("id").GetString()}: {job.GetProperty("state").GetString()}");
        }));
        var logId = new Argument<string>("id") { Description = "the job's id" };
        command.Subcommands.Add(Build("logs", "print a job's log: the service's decisions, scaling decisions, retries", [logId], async (client, parse, ct) =>
            Console.Write(await client.LogAsync(parse.GetValue(logId)!, ct).ConfigureAwait(false))));
        return command;
    }

    private static Command Build(string name, string description, Symbol[] symbols, Func<ServiceClient, ParseResult, CancellationToken, Task> run)
    {
        var server = ServerOption();
        var token = TokenFileOption();
        var command = new Command(name, description) { server, token };
        foreach (var symbol in symbols)
        {
            if (symbol is Argument argument) command.Arguments.Add(argument);
            else command.Options.Add((Option)symbol);
        }
        command.SetAction((parse, ct) => Commands.Commands.GuardAsync(async () =>
        {
            using var client = Client(parse, server, token);
            await run(client, parse, ct).ConfigureAwait(false);
            return Commands.Commands.Ok;
        }));
        return command;
    }

    private static ServiceClient Client(ParseResult parse, Option<string?> server, Option<string?> token)
    {
        var url = parse.GetValue(server) ?? Environment.GetEnvironmentVariable("SLUICE_SERVER");
        if (string.IsNullOrWhiteSpace(url)) throw new SluiceException("no server: give --server URL or set SLUICE_SERVER (e.g. http://127.0.0.1:8080)");
        return new ServiceClient(url, Tokens.ForClient(parse.GetValue(token)));
    }

    private static void Print(JsonElement job)
    {
        string? S(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        Console.WriteLine($"job {S(job, "id")} '{S(job, "name")}': {S(job, "state")}{(S(job, "reason") is { } r ? $" ({r})" : "")}");
        Console.WriteLine($"submitted {S(job, "submitted")}; started {S(job, "started") ?? "-"}; ended {S(job, "ended") ?? "-"}; runs {job.GetProperty("runs").GetInt32()}");
        var progress = job.GetProperty("progress");
        var total = progress.GetProperty("rows_total") is { ValueKind: JsonValueKind.Number } t ? $" of {t.GetInt64():N0}" : "";
        var percent = progress.GetProperty("percent") is { ValueKind: JsonValueKind.Number } p ? $" ({p.GetDouble():0.#}%)" : "";
        var eta = progress.GetProperty("eta_seconds") is { ValueKind: JsonValueKind.Number } e ? $", about {TimeSpan.FromSeconds(e.GetDouble()):hh\\:mm\\:ss} left" : "";
        Console.WriteLine($"rows written: {progress.GetProperty("rows_done").GetInt64():N0}{total}{percent}{eta}");
        if (job.TryGetProperty("snapshot", out var snapshot) && snapshot.TryGetProperty("operators", out var ops))
        {
            Console.WriteLine($"{"STAGE",-20} {"ROWS",10} {"ROWS/S",8} {"TASKS",6} {"ACTORS",6} {"QUEUED",8}  BACK-PRESSURE");
            foreach (var op in ops.EnumerateArray())
            {
                Console.WriteLine($"{Cut(S(op, "name"), 20),-20} {op.GetProperty("rows_out").GetInt64(),10:N0} {op.GetProperty("rows_per_second").GetDouble(),8:0} " +
                    $"{op.GetProperty("tasks_running").GetInt32(),6} {op.GetProperty("actors_ready").GetInt32(),6} {op.GetProperty("queued_blocks").GetInt32(),8}  {S(op, "back_pressure") ?? "-"}");
            }
        }
        if (S(job, "error") is { } error) Console.WriteLine($"error: {error}");
    }

    private static string Cut(string? text, int width) => text is null ? "" : text.Length <= width ? text : text[..(width - 1)] + "…";
}
