// Package compute is the x/compute module: the market for batch tasks. Clients post tasks with
// an escrowed deposit, eligible providers bid during the bid window, the lowest bid wins on
// chain, the winner submits a result by its deadline, and the committee's verdict pays the
// provider, refunds the client, or slashes the provider.
package compute
