using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Sluice.Cli.Output;

/// <summary>
/// The engine's log (scaling decisions, retries, the plan) on the terminal, from <c>--verbose</c> or <c>--log-level</c>.
/// Written to stderr as it comes, except while a live view owns the terminal: then lines wait in <see cref="Drain"/>
/// for the view to show them (writing under a live view would tear it).
/// </summary>
internal sealed class DecisionLog(LogLevel level) : ILoggerFactory
{
    private readonly ConcurrentQueue<string> _held = new();
    private volatile bool _holding;

    public LogLevel Level { get; } = level;

    /// <summary>While true, lines are kept for <see cref="Drain"/> instead of written.</summary>
    public bool Holding
    {
        get => _holding;
        set => _holding = value;
    }

    /// <summary>--log-level's names (Microsoft.Extensions.Logging's, any case) and the short ones people type.</summary>
    public static bool TryParseLevel(string text, out LogLevel level)
    {
        level = text.ToLowerInvariant() switch
        {
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" or "information" => LogLevel.Information,
            "warn" or "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            "critical" => LogLevel.Critical,
            "none" => LogLevel.None,
            _ => (LogLevel)(-1),
        };
        return level >= 0;
    }

    /// <summary>The lines kept while <see cref="Holding"/>, oldest first.</summary>
    public List<string> Drain()
    {
        var lines = new List<string>();
        while (_held.TryDequeue(out var line)) lines.Add(line);
        return lines;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("the decision log writes to the terminal only");

    public void Dispose()
    {
    }

    private void Write(LogLevel level, string message)
    {
        var line = string.Create(CultureInfo.InvariantCulture, $"{DateTime.Now:HH:mm:ss.f} {Name(level)} {message}");
        if (Holding) _held.Enqueue(line);
        else Console.Error.WriteLine(line);
    }

    private static string Name(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    private sealed class Logger(DecisionLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= log.Level;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            log.Write(logLevel, exception is null ? formatter(state, exception) : $"{formatter(state, exception)}: {exception.Message}");
        }
    }
}
