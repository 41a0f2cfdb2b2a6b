package org.testigo.tests

import kotlin.system.exitProcess

/**
 * A tiny test harness: named test functions, each run in isolation, counted. Prints
 * one line per failure and, last, exactly one summary line `N passed, M failed`.
 */
class Suite(val name: String) {
    val tests = mutableListOf<Pair<String, () -> Unit>>()

    fun test(name: String, body: () -> Unit) {
        tests += "${this.name}: $name" to body
    }
}

class AssertionFailed(message: String) : AssertionError(message)

fun expect(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionFailed(message())
}

fun <T> assertEquals(expected: T, actual: T, what: String = "value") {
    if (expected != actual) throw AssertionFailed("$what: expected <$expected>, got <$actual>")
}

inline fun <reified E : Throwable> assertThrows(what: String, body: () -> Unit): E {
    try {
        body()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionFailed("$what: expected ${E::class.simpleName}, got ${e::class.qualifiedName}: ${e.message}")
    }
    throw AssertionFailed("$what: expected ${E::class.simpleName}, nothing was thrown")
}

fun runSuites(suites: List<Suite>): Int {
    var passed = 0
    var failed = 0
    for ((name, body) in suites.flatMap { it.tests }) {
        try {
            body()
            passed++
            println("ok    $name")
        } catch (e: Throwable) {
            failed++
            println("FAIL  $name: ${e::class.simpleName}: ${e.message}")
            if (e !is AssertionFailed) e.printStackTrace(System.out)
        }
    }
    println("$passed passed, $failed failed")
    return failed
}

fun main() {
    val failed = runSuites(
        listOf(
            storeTests(),
            incidentTests(),
            locationTests(),
            checklistTests(),
            observerTests(),
            concurrencyTests(),
            errorTests(),
            wrapperTests(),
            keyFileTests(),
            syncTests(),
            mediaTests(),
            wakeTests(),
        ),
    )
    exitProcess(if (failed == 0) 0 else 1)
}
