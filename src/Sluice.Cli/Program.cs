using System.CommandLine;

namespace Sluice.Cli;

internal static class Program
{
    /// <summary>How long a job may take to stop after Ctrl-C or SIGTERM before the process is ended anyway.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    public static Task<int> Main(string[] args)
    {
        // Logs and CI capture output through a pipe: draw tables at a readable width there.
        if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 180;
        var root = new RootCommand("Sluice: streaming batch inference of ONNX models over large datasets");
        root.Subcommands.Add(Commands.Commands.Run());
        root.Subcommands.Add(Commands.Commands.Explain());
        root.Subcommands.Add(Commands.Commands.Ops());
        root.Subcommands.Add(Commands.Commands.Models());
        root.Subcommands.Add(Commands.Commands.Demo());
        root.Subcommands.Add(Commands.PartitionCommand.Create());
        root.Subcommands.Add(Commands.ClusterCommands.Worker());
        root.Subcommands.Add(Commands.ClusterCommands.Cluster());
        root.Subcommands.Add(Service.ServeCommand.Create());
        root.Subcommands.Add(Service.ClientCommands.Submit());
        root.Subcommands.Add(Service.ClientCommands.Jobs());
        var parse = root.Parse(args);
        // A worker drains on SIGTERM / Ctrl-C for up to its drain timeout: System.CommandLine would end the process
        // 2 s after the signal (exit code 143), so the worker leaves the signals to its host's console lifetime.
        var worker = parse.CommandResult.Command.Name == "worker" && parse.Errors.Count == 0;
        // Any other command gets time to stop cleanly on Ctrl-C: cancel, drain what is in flight, dispose the actors,
        // abort the sink and say how to resume. System.CommandLine's 2 s default killed a job mid-shutdown.
        return parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = worker ? null : StopTimeout });
    }
}
