using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Sluice.Cluster.Tests.Support;

/// <summary>Keeps every message the executor logs (scaling decisions, retries), for assertions and failure messages.</summary>
internal sealed class CollectingLogger : ILoggerFactory, ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel)) _lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}");
    }

    public void Dispose()
    {
    }

    /// <summary>The last <paramref name="count"/> lines, for a failure message.</summary>
    public string Tail(int count = 60) => string.Join(Environment.NewLine, Lines.TakeLast(count));
}
