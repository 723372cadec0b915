using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Sluice.Execution.Metrics;

/// <summary>
/// Passes the engine's log on to the caller's factory and counts, on the way, the scaling decisions in it: the pool logs
/// each decision once, where it is made, so counting here misses none (a sampled snapshot shows only the last one).
/// The inner factory belongs to the caller and is not disposed here.
/// </summary>
internal sealed class DecisionCountingLoggerFactory(ILoggerFactory? inner, JobRecorder recorder) : ILoggerFactory
{
    private readonly ILoggerFactory _inner = inner ?? NullLoggerFactory.Instance;

    public ILogger CreateLogger(string categoryName) => new CountingLogger(_inner.CreateLogger(categoryName), recorder);

    public void AddProvider(ILoggerProvider provider) => _inner.AddProvider(provider);

    public void Dispose()
    {
    }

    private sealed class CountingLogger(ILogger inner, JobRecorder recorder) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        // Decisions are logged at Information: that level stays on so they are counted whatever the caller shows.
        public bool IsEnabled(LogLevel logLevel) => logLevel == LogLevel.Information || inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name == "Scaling" && state is IReadOnlyList<KeyValuePair<string, object?>> fields)
            {
                string? stage = null, decision = null;
                foreach (var (key, value) in fields)
                {
                    if (key == "Stage") stage = value as string;
                    else if (key == "Decision") decision = value as string;
                }
                if (stage is not null && decision is not null) recorder.Decided(stage, decision);
            }
            if (inner.IsEnabled(logLevel)) inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
