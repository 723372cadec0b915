using Microsoft.Extensions.Logging;

namespace Sluice.Service.Queue;

/// <summary>
/// One job's log: what its engine logs (scaling decisions, retries, the plan) and what the service decides about it
/// (queued, started, ended), as timestamped lines. Kept in memory while the job lives (the last <see cref="MaxLines"/>)
/// and saved with the job's record when it ends.
/// </summary>
internal sealed class JobLog : ILoggerProvider
{
    /// <summary>Enough for a long job's decisions; a job that retries every task forever does not fill the memory.</summary>
    public const int MaxLines = 10_000;

    private readonly Queue<string> _lines = new();
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    public JobLog(TimeProvider time, string? saved = null)
    {
        _time = time;
        if (saved is not null) foreach (var line in saved.Split('\n', StringSplitOptions.RemoveEmptyEntries)) Add(line);
    }

    /// <summary>A logger factory whose loggers write here: the engine's <c>ExecutionOptions.LoggerFactory</c>.</summary>
    public ILoggerFactory Factory() => LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Information).AddProvider(this));

    public void Write(LogLevel level, string category, string message) =>
        Add($"{_time.GetUtcNow().UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {Level(level)} {category}: {message.Replace('\n', ' ')}");

    public IReadOnlyList<string> Lines()
    {
        lock (_lock) return [.. _lines];
    }

    public string Text() => string.Join('\n', Lines());

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Nothing to release: the lines outlive the engine's factory.</summary>
    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lock (_lock)
        {
            _lines.Enqueue(line);
            while (_lines.Count > MaxLines) _lines.Dequeue();
        }
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        _ => "critical",
    };

    private sealed class Logger(JobLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            log.Write(logLevel, category, formatter(state, exception) + (exception is null ? "" : $" ({exception.Message})"));
        }
    }
}
