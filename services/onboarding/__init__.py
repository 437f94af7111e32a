"""The onboarding service (商家订单确认).

The merchant's order, the seven-section confirmation checklist, FAQ sheet and materials.
"""
